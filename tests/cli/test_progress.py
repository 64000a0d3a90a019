"""Progress a person can follow (issue 21, item 2): a real build in a pipe and in a terminal."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from images import BUSYBOX_DEF

from scitex_container.cli.progress import HEARTBEAT

pytestmark = pytest.mark.apptainer
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def sleeping_def(tmp_path: Path, seconds: int) -> Path:
    path = tmp_path / "sleepy.def"
    body = f"\n%post\n    echo post-started\n    sleep {seconds}\n    echo post-done\n"
    path.write_text(BUSYBOX_DEF + body)
    return path


def test_a_pipe_gets_a_heartbeat_with_phase_elapsed_log_and_last_line(tmp_path: Path) -> None:
    """A %post sleeping longer than the heartbeat: the pipe hears from the build meanwhile."""
    assert HEARTBEAT <= 10
    definition = sleeping_def(tmp_path, int(HEARTBEAT) + 4)
    proc = subprocess.Popen(
        [sys.executable, "-m", "scitex_container", "build", str(definition), "-o", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    first = proc.stderr.readline()  # from the first second, before apptainer prints anything
    lines = [first, *proc.stderr]
    proc.wait(timeout=120)
    assert proc.returncode == 0, "".join(lines)
    log = tmp_path / "sleepy" / "sleepy-v"
    assert re.match(r"\[\S+ · [01]s · building ", first) and f"log {log}" in first, first
    in_post = [line for line in lines if line.startswith("[%post · ")]
    # a beat while %post sleeps, naming its phase, the time so far and its last line
    assert in_post, lines
    beat = in_post[-1]
    seconds = int(re.search(r"%post · (\d+)s", beat).group(1))  # type: ignore[union-attr]
    assert seconds >= int(HEARTBEAT) - 1 and ("post-started" in beat or "sleep" in beat)
    assert all(not x.startswith("DEBUG") for x in lines)


def on_terminal(width: int, *args: object) -> tuple[int, bytes]:
    """Run the CLI on a pseudo-terminal ``width`` columns wide: (exit code, all it wrote)."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: the CLI on a terminal `width` columns wide
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, width, 0, 0))
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        argv = ["-m", "scitex_container", *map(str, args)]
        os.execve(sys.executable, [sys.executable, *argv], env)
    raw = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        raw += chunk
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), raw


def test_a_terminal_gets_one_live_line_that_fits_the_width(tmp_path: Path) -> None:
    definition = sleeping_def(tmp_path, 3)
    width = 60
    code, raw = on_terminal(width, "build", definition, "-o", tmp_path)
    assert code == 0, raw[-2000:]
    screen = ANSI.sub("\n", raw.decode("utf-8", "replace"))  # each redraw moves the cursor
    frames = [f.strip() for f in re.split(r"[\r\n]", screen) if f.strip()]
    live = [f for f in frames if re.match(r"\S \S+ · \d+s · building ", f)]
    assert live, frames[-20:]
    assert all(len(f) <= width for f in live), [(len(f), f) for f in live if len(f) > width]
    assert any(f[2:].startswith("%post · ") for f in live)  # the phase while %post runs
    assert any(f[2:].startswith("%post · 2s") for f in live)  # the time goes on meanwhile
    assert frames[-1].startswith("built ")  # the live line is gone; the result stays


def test_a_narrow_terminal_still_shows_the_whole_log_path(tmp_path: Path) -> None:
    """At 40 columns the live line cannot hold the log path: it is printed whole, and stays."""
    definition = sleeping_def(tmp_path, 1)
    code, raw = on_terminal(40, "build", definition, "-o", tmp_path)
    assert code == 0, raw[-2000:]
    text = ANSI.sub("", raw.decode("utf-8", "replace"))
    log = re.escape(str(tmp_path / "sleepy" / "sleepy-v")) + r"\d{8}T\d{6}Z\.sif\.build\.log"
    assert re.search(rf"^log {log}\r?$", text, re.MULTILINE), text[-1500:]
    frames = [f.strip() for f in re.split(r"[\r\n]", ANSI.sub("\n", raw.decode())) if f]
    live = [f for f in frames if re.match(r"\S \S+ · \d+s · ", f)]
    assert live and all(len(f) <= 40 for f in live), live


def test_verbose_shows_our_commands_and_the_tools_output_never_library_debug(
    tmp_path: Path,
) -> None:
    definition = sleeping_def(tmp_path, 0)
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "scitex_container",
            "-v",
            "build",
            str(definition),
            "-o",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "[scitex] stream: apptainer build" in out.stderr  # the command we run
    assert "post-started" in out.stderr.splitlines()  # the tool's own output, line by line
    assert "filelock" not in out.stderr and "DEBUG" not in out.stderr


def test_hashing_a_big_input_is_said_on_a_pipe_then_served_from_the_cache(tmp_path: Path) -> None:
    """A first `status` over a 12 GB %files input was silent for 85 s."""
    defs = tmp_path / "defs"
    defs.mkdir()
    big = defs / "big.bin"
    with open(big, "wb") as fh:  # sparse: hashing reads 64 MiB of zeros, writes nothing
        fh.truncate(64 * 1024 * 1024)
    (defs / "x.def").write_text("Bootstrap: scratch\n\n%files\n    big.bin /big.bin\n")

    def status(*flags: str, cache: str = "cache") -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / cache)}
        return subprocess.run(
            [sys.executable, "-m", "scitex_container", "status", str(defs), *flags],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )

    quiet = status("-q", cache="cache-q")
    assert quiet.returncode == 0 and "hashing" not in quiet.stderr, quiet
    first = status()
    assert first.returncode == 0, first
    assert f"[status: hashing {big} (64 MiB)]" in first.stderr, first.stderr
    again = status()  # the digest cache answers: nothing to say
    assert again.returncode == 0 and "hashing" not in again.stderr, again.stderr


def test_a_new_phase_does_not_show_the_previous_tools_last_line() -> None:
    """`repro` showed the rough build's last line while "building the locked def"."""
    from scitex_container.apptainer.building.phases import log_event, phase_event
    from scitex_container.cli.progress import Progress

    progress = Progress("round trip", "starting", None)
    progress("INFO:    Build complete: rough.sif")
    assert progress.line().endswith("Build complete: rough.sif")
    progress(phase_event("building the locked def as `x`"))
    assert "rough.sif" not in progress.line()
    assert progress.line().startswith("building the locked def as `x` · ")
    progress("INFO:    Starting build...")
    progress(log_event("/logs/x.build.log"))  # the next tool's log: its lines from here
    assert "Starting build" not in progress.line() and "log /logs/x.build.log" in progress.line()


def test_the_first_heartbeat_names_the_log_that_follows_a_phase(monkeypatch) -> None:
    """`repro`'s first line said its phase without the log that came a moment later."""
    import threading

    from scitex_container.apptainer.building.phases import log_event, phase_event
    from scitex_container.cli import progress as progress_mod

    said: list[str] = []
    printed = threading.Event()

    def echo(line: str, err: bool = False) -> None:
        said.append(line)
        printed.set()

    monkeypatch.setattr(progress_mod.click, "echo", echo)
    progress = progress_mod.Progress("round trip", "starting", None)
    stop = threading.Event()
    beat = threading.Thread(target=progress_mod._heartbeat, args=(progress, stop))
    beat.start()
    progress(phase_event("building the rough def"))
    progress(log_event("/logs/rough.build.log"))
    assert printed.wait(30)  # a deadline, not a timing: the first line comes within 1 s
    stop.set()
    beat.join(timeout=30)
    assert said[0].startswith("[building the rough def · ")
    assert "log /logs/rough.build.log" in said[0], said
