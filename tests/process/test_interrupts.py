"""The signal handlers: TERM/HUP as interrupts, a copy within the window ignored."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from signals import exit_code, start_driver, wait_for

from scitex_container.process import interrupts


@pytest.fixture
def handlers():
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    interrupts._last.clear()
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal (a background
    # job of a shell, e.g. the suite under `nohup ... &`, starts with SIGINT ignored)
    for s in (signal.SIGTERM, signal.SIGHUP):  # as a fresh process has them (the suite
        signal.signal(s, signal.SIG_DFL)  # may run under nohup, which ignores SIGHUP)
    yield
    for s, h in saved.items():
        signal.signal(s, h)


def test_term_and_hup_raise_interrupted_with_their_number(handlers) -> None:
    interrupts.install()
    for signum in (signal.SIGTERM, signal.SIGHUP):
        with pytest.raises(interrupts.Interrupted) as info:
            signal.raise_signal(signum)
        assert info.value.signum == signum
        assert isinstance(info.value, KeyboardInterrupt)


def test_a_copy_within_the_window_is_ignored_and_a_later_one_is_not(handlers, monkeypatch) -> None:
    now = [1000.0]  # a fake clock: the window is decided by it, not by the host's load
    monkeypatch.setattr(interrupts, "clock", lambda: now[0])
    interrupts.install()
    with pytest.raises(interrupts.Interrupted):
        signal.raise_signal(signal.SIGTERM)
    now[0] += interrupts.REPEAT_SECONDS * 0.9
    signal.raise_signal(signal.SIGTERM)  # su's forwarded copy: no second raise
    with pytest.raises(interrupts.Interrupted):  # another signal is its own request
        signal.raise_signal(signal.SIGHUP)
    now[0] += interrupts.REPEAT_SECONDS * 1.2
    with pytest.raises(interrupts.Interrupted):
        signal.raise_signal(signal.SIGTERM)


def test_an_ignored_signal_stays_ignored(handlers) -> None:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # nohup
    interrupts.install()
    assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
    signal.raise_signal(signal.SIGHUP)


def test_raising_is_one_shot_and_restores_the_handlers(handlers) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with pytest.raises(interrupts.Interrupted), interrupts.raising():
        try:
            signal.raise_signal(signal.SIGTERM)
        finally:
            signal.raise_signal(signal.SIGHUP)  # during the cleanup: ignored
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL


def test_ignored_shields_a_block_from_all_three(handlers) -> None:
    interrupts.install()
    with interrupts.ignored():
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.raise_signal(signum)
    with pytest.raises(interrupts.Interrupted):
        signal.raise_signal(signal.SIGTERM)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_deferred_holds_a_signal_until_the_block_is_done(handlers, signum) -> None:
    interrupts.install()
    steps = []
    with pytest.raises(KeyboardInterrupt) as info, interrupts.deferred():
        signal.raise_signal(signum)
        steps.append("after the signal")  # the handler would have raised here
        signal.raise_signal(signal.SIGHUP)  # a second one: the first acts
        steps.append("end of the block")
    assert steps == ["after the signal", "end of the block"]
    assert getattr(info.value, "signum", signal.SIGINT) == signum
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # restored


def test_deferred_leaves_an_ignored_signal_ignored(handlers) -> None:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # nohup
    with interrupts.deferred():
        signal.raise_signal(signal.SIGHUP)
    assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN  # and nothing was raised


_DRIVER = """\
import signal, sys
for s in (signal.SIGTERM, signal.SIGHUP):
    signal.signal(s, signal.SIG_DFL)
from scitex_container.process import interrupts, procgroup, runner
interrupts.REPEAT_SECONDS = 3600.0  # the test orders the signals; the window never closes
procgroup.GRACE_SECONDS = 60.0  # and the child's cleanup ends when the test says
seen = interrupts._repeat
def logged(signum):
    repeat = seen(signum)
    with open(sys.argv[3], "a") as log:
        log.write("repeat\\n" if repeat else "first\\n")
    return repeat
interrupts._repeat = logged
runner.install_signal_handlers()
child = '''
import os, signal, sys, time
got = []
def clean(signum, frame):
    got.append(signum)
    if len(got) == 1:
        open(sys.argv[1] + ".got", "w").close()
        while not os.path.exists(sys.argv[1] + ".release"):  # a cleanup that takes a while
            time.sleep(0.02)
        open(sys.argv[1], "w").write(" ".join(map(str, got)))
        sys.exit(1)
signal.signal(signal.SIGTERM, clean)
open(sys.argv[2], "w").write("ready")
while True:
    time.sleep(0.1)
'''
try:
    runner.stream([sys.executable, "-c", child, sys.argv[1], sys.argv[2]])
except KeyboardInterrupt as exc:
    sys.exit(128 + getattr(exc, "signum", 2))
"""


def test_a_forwarded_copy_does_not_cut_the_childs_cleanup_short(tmp_path: Path) -> None:
    """`su` forwards the SIGTERM it gets: the command sees it twice.  The
    child gets one SIGTERM and its whole grace period.  The order of events
    is enforced by marks, never by sleeps: the copy is sent once the child is
    in its cleanup, and the cleanup ends only after the copy was handled."""
    done, ready, log = tmp_path / "done", tmp_path / "ready", tmp_path / "handled"
    driver = start_driver(_DRIVER, done, ready, log)
    wait_for(ready)
    os.kill(driver.pid, signal.SIGTERM)
    wait_for(Path(f"{done}.got"), "the child never got the forwarded SIGTERM")
    os.kill(driver.pid, signal.SIGTERM)  # the copy
    deadline = time.monotonic() + 30
    while (log.read_text().split() if log.exists() else []) != ["first", "repeat"]:
        assert time.monotonic() < deadline, "the copy was never handled"
        time.sleep(0.02)
    Path(f"{done}.release").touch()
    code = exit_code(driver)
    assert code == 128 + signal.SIGTERM
    assert done.read_text() == str(int(signal.SIGTERM))  # one signal, cleanup finished


_SHELL_DRIVER = """\
import os, signal, sys
from scitex_container.process import runner
runner.install_signal_handlers()
child = '''
import signal, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)  # as an interactive shell does
open(sys.argv[1], "w").write("ready")
time.sleep(1.5)
sys.exit(7)
'''
try:
    code = runner.run([sys.executable, "-c", child, sys.argv[1]], check=False, interactive=True)
except KeyboardInterrupt:
    sys.exit(130)
restored = signal.getsignal(signal.SIGINT) is not signal.SIG_IGN
sys.exit(code.returncode if restored else 99)
"""


def test_ctrl_c_in_an_attached_shell_is_the_shells_not_ours(tmp_path: Path) -> None:
    """The terminal sends Ctrl-C to its whole foreground group: the shell and
    us.  We leave it to the shell (as system(3) does): the attach goes on."""
    ready = tmp_path / "ready"
    driver = start_driver(_SHELL_DRIVER, ready, start_new_session=True)
    wait_for(ready, "the shell never started")
    os.killpg(driver.pid, signal.SIGINT)  # what the terminal does
    code = exit_code(driver)
    assert code == 7  # the shell's own exit, not an abort; our Ctrl-C handler is back


LATE_SIGNAL = """
import os, signal, sys
from scitex_container.process import interrupts
interrupts.install()
class Late:  # torn down during the interpreter's finalization
    def __del__(self):
        os.kill(os.getpid(), signal.SIGTERM)
late = Late()
if sys.argv[1] == "finished":
    interrupts.finished()
"""


@pytest.mark.parametrize("finished", [True, False])
def test_a_signal_during_the_exit_of_a_finished_command_is_ignored(finished: bool) -> None:
    """Python's finalization resets our handlers to the default action: a SIGTERM
    then killed a CLI whose build had published (CI saw exit -15 with the new
    version active).  After ``finished()`` it is ignored and the exit stands."""
    import subprocess
    import sys

    from storekit import python_env

    done = subprocess.run(
        [sys.executable, "-c", LATE_SIGNAL, "finished" if finished else "not"],
        env=python_env(),
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == (0 if finished else -signal.SIGTERM), done.stderr
