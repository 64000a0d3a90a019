"""Containment: whatever the CLI starts dies with it, even when only the CLI is SIGKILLed.

A real ``build`` (a localimage from the busybox base plus incompressible
bytes, so mksquashfs runs for a while) is killed with SIGKILL at several
moments: just after apptainer started, while mksquashfs runs; the CLI
alone, or its whole process group.  Afterwards no process of that build
may remain (found by the store path in its command line or environment,
polled with a deadline), nothing may appear in the store once they are
gone, and the next command removes what the kill left and says so.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from otheruser import another_user
from signals import default_signals
from storekit import REPO, python_env
from uservenv import user_python

pytestmark = pytest.mark.apptainer

DEADLINE = 30.0


def big_def(tmp: Path, base: Path) -> Path:
    path = tmp / "big.def"
    path.write_text(
        f"Bootstrap: localimage\nFrom: {base}\n\n%setup\n"
        '    head -c 12000000 /dev/urandom > "${APPTAINER_ROOTFS}/big"\n'
    )
    return path


def ours(marker: str) -> list[tuple[int, str]]:
    """Live processes whose command line or environment names ``marker``."""
    found = []
    needle = marker.encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmd = fh.read()
            try:
                with open(f"/proc/{entry}/environ", "rb") as fh:
                    env = fh.read()
            except OSError:
                env = b""
        except OSError:
            continue
        if needle in cmd or needle in env:
            found.append((int(entry), cmd.replace(b"\0", b" ").decode(errors="replace")))
    return found


def wait_until(predicate, what: str, seconds: float = DEADLINE):
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def tree(store: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for root, dirs, files in os.walk(store):
        for name in dirs + files:
            path = os.path.join(root, name)
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                continue
            out[os.path.relpath(path, store)] = (st.st_size, st.st_mtime_ns)
    return out


def start_build(argv: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        argv,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,  # its own group: killing it spares pytest
        preexec_fn=default_signals,
    )


def kill_and_check(proc: subprocess.Popen, out: Path, moment: str, group: bool) -> None:
    marker = str(out)

    def started(tool: str) -> bool:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        return any(tool in c for _, c in ours(marker))

    if moment == "mksquashfs":
        wait_until(lambda: started("mksquashfs"), "no mksquashfs")
    else:
        wait_until(lambda: started("apptainer"), "no apptainer")
    if group:
        os.killpg(proc.pid, signal.SIGKILL)
    else:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    wait_until(lambda: not ours(marker), f"processes outlived the CLI: {ours(marker)}")
    store = out / "big"
    before = tree(store)
    # Nothing may write after its writers are gone: another look finds the same.
    for _ in range(10):
        assert tree(store) == before
        time.sleep(0.05)


def sweep_reports(python: str, out: Path, env: dict, user: str | None = None) -> str:
    argv = [python, "-m", "scitex_container", "cleanup", str(out / "big"), "--keep", "5"]
    if user:
        argv = ["runuser", "-u", user, "--", *argv]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode in (0, 1), done.stderr
    return done.stdout


@pytest.mark.parametrize(
    ("moment", "group"), [("apptainer", False), ("mksquashfs", False), ("mksquashfs", True)]
)
def test_sigkill_of_the_cli_ends_the_whole_build(
    tmp_path: Path, busybox_sif: Path, moment: str, group: bool
) -> None:
    definition = big_def(tmp_path, busybox_sif)
    out = tmp_path / "out"
    env = python_env()
    argv = [sys.executable, "-m", "scitex_container", "build", str(definition), "-o", str(out)]
    kill_and_check(start_build(argv, env), out, moment, group)
    left = tree(out / "big")
    if group:  # the next build sweeps first and says so (on stderr)
        again = subprocess.run(
            argv, capture_output=True, text=True, env=env, timeout=600, cwd=tmp_path
        )
        assert again.returncode == 0, again.stderr
        swept = again.stderr
    else:
        swept = sweep_reports(sys.executable, out, env)
    leftovers = [n for n in left if n.startswith(".scitex/tmp/") and n.count("/") == 2]
    leftovers += [n for n in left if n.endswith(".building")]
    assert leftovers, f"a SIGKILL mid-build leaves its scratch: {sorted(left)}"
    for name in leftovers:
        assert f"removed {out / 'big' / name}" in swept or str(out / "big" / name) in swept
        assert not os.path.lexists(out / "big" / name)
    assert not [n for n in tree(out / "big") if n.endswith(".building")]


@pytest.fixture
def user_dir():
    """A directory the other user owns, somewhere that user can reach."""
    user = another_user()
    path = Path(tempfile.mkdtemp(prefix="scitex-contain-", dir="/var/tmp"))
    os.chmod(path, 0o755)
    os.chown(path, user.pw_uid, user.pw_gid)
    yield user, path
    shutil.rmtree(path, ignore_errors=True)


def test_sigkill_of_an_unprivileged_cli_ends_its_build(user_dir, busybox_sif: Path) -> None:
    """Not root: no PID namespace; the guardian kills the build's process group."""
    user, work = user_dir
    base = work / "base.sif"
    base.write_bytes(busybox_sif.read_bytes())
    os.chown(base, user.pw_uid, user.pw_gid)
    definition = big_def(work, base)
    out = work / "out"
    python = str(user_python(REPO))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["HOME"] = user.pw_dir
    argv = ["runuser", "-u", user.pw_name, "--", python, "-m", "scitex_container"]
    argv += ["build", str(definition), "-o", str(out)]
    proc = start_build(argv, env)
    kill_and_check(proc, out, "mksquashfs", group=True)
    swept = sweep_reports(python, out, env, user.pw_name)
    assert not [n for n in tree(out / "big") if n.endswith(".building")], swept
