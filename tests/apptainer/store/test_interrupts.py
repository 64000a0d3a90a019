"""Ctrl-C, SIGTERM and SIGHUP at random points of a real build leave nothing behind.

Each trial starts ``scitex-container build --force`` on a small busybox def
(``%post`` sleeps, so the build spends time in every stage), signals the
CLI at a random moment, and then checks: the CLI returned promptly, the
previous active version is intact (its digest is the recorded one), the
store holds no hidden temporary and no build scratch, no process of the
build survives, and the next build succeeds.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from images import BUSYBOX_DEF
from storekit import python_env, sha256

pytestmark = pytest.mark.apptainer

DEF = BUSYBOX_DEF + "\n%post\n    sleep 1\n"


def _reset_signals() -> None:  # the suite may run under nohup
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


def _cli(tmp_path: Path, *args: str, **kw) -> subprocess.Popen:
    env = {**python_env(), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    return subprocess.Popen(
        [sys.executable, "-m", "scitex_container", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=_reset_signals,
        **kw,
    )


def _build(tmp_path: Path, *extra: str) -> subprocess.Popen:
    return _cli(tmp_path, "build", str(tmp_path / "bb.def"), "-o", str(tmp_path / "out"), *extra)


def _survivors(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker.encode() in cmdline and state != "Z":
            found.append(int(entry))
    return found


def _active(store: Path) -> tuple[Path, str]:
    real = Path(os.path.realpath(store / "bb.sif"))
    recorded = json.loads(real.with_name(real.name + ".meta.json").read_text())["sha256"]
    return real, recorded


def _trials(tmp_path: Path, count: int, seed: int) -> None:
    rng = random.Random(seed)
    (tmp_path / "bb.def").write_text(DEF)
    first = _build(tmp_path)
    assert first.wait(timeout=300) == 0, first.stderr.read()
    store = tmp_path / "out" / "bb"
    for trial in range(count):
        before, recorded = _active(store)
        signum = rng.choice([signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
        delay = rng.uniform(0.0, 2.5)
        proc = _build(tmp_path, "--force")
        time.sleep(delay)
        sent = time.monotonic()
        proc.send_signal(signum)
        code = proc.wait(timeout=60)
        returned = time.monotonic() - sent
        what = f"trial {trial}: {signum.name} after {delay:.2f}s (exit {code})"
        assert returned < 8, what
        if code == 0:  # the build finished before the signal arrived
            before, recorded = _active(store)
        else:
            # -signum: the signal came before the CLI had installed its handlers
            # (still importing), so nothing had started yet.
            assert code in (128 + signum, -signum), f"{what}: {proc.stderr.read()}"
            now, now_recorded = _active(store)
            if now != before:  # the link switch came just before the signal: the new
                assert code == 128 + signum, what  # version is whole and recorded
                assert sha256(now) == now_recorded, what
                before, recorded = now, now_recorded
        assert sha256(before) == recorded, what
        deadline = time.monotonic() + 10  # stopped with the CLI: gone as soon as reaped
        while _survivors(str(tmp_path)):
            assert time.monotonic() < deadline, (what, _survivors(str(tmp_path)))
            time.sleep(0.05)
        hidden = [p.name for p in store.iterdir() if p.name.startswith(".bb")]
        assert hidden == [], what
        scratch = store / ".scitex" / "tmp"
        assert not scratch.exists() or list(scratch.iterdir()) == [], what
    last = _build(tmp_path, "--force")
    assert last.wait(timeout=300) == 0, last.stderr.read()


def test_signals_at_random_points_of_a_real_build(tmp_path: Path) -> None:
    _trials(tmp_path, 4, seed=11)


@pytest.mark.slow
def test_signals_at_random_points_of_a_real_build_many(tmp_path: Path) -> None:
    _trials(tmp_path, 24, seed=23)


def _sigkill_mid_build(tmp_path: Path) -> tuple[Path, list[Path]]:
    """Build once, then SIGKILL a forced build (and its orphans) once its scratch exists.

    Returns the store and what the killed build left (scratch, its log).
    """
    (tmp_path / "bb.def").write_text(DEF)
    first = _build(tmp_path)
    assert first.wait(timeout=300) == 0
    store = tmp_path / "out" / "bb"
    proc = _build(tmp_path, "--force")
    deadline = time.monotonic() + 60
    scratch = store / ".scitex" / "tmp"
    while time.monotonic() < deadline and not (scratch.exists() and any(scratch.iterdir())):
        time.sleep(0.05)
    time.sleep(0.5)
    os.kill(proc.pid, signal.SIGKILL)  # the CLI only: apptainer is in its own group
    proc.wait()
    deadline = time.monotonic() + 30  # the kernel ends the build's processes with the CLI
    while _survivors(str(tmp_path)):
        assert time.monotonic() < deadline, f"outlived the CLI: {_survivors(str(tmp_path))}"
        time.sleep(0.05)
    versions = {p.name for p in store.glob("bb-v*.sif")}
    logs = [
        p for p in store.glob("*.build.log") if p.name.removesuffix(".build.log") not in versions
    ]
    left = list(scratch.iterdir())
    assert left and logs, sorted(p.name for p in store.iterdir())
    return store, left + logs


def test_cleanup_reports_what_a_sigkilled_build_left(tmp_path: Path) -> None:
    store, left = _sigkill_mid_build(tmp_path)
    out = _cli(tmp_path, "--json", "cleanup", str(store), "--keep", "5")
    stdout, stderr = out.communicate(timeout=60)
    assert out.returncode == 0, stderr
    removed = json.loads(stdout)["removed"]
    assert all(str(p) in removed for p in left), (removed, left)
    assert not any(p.exists() for p in left)


def test_the_next_build_sweeps_what_a_sigkilled_build_left(tmp_path: Path) -> None:
    store, left = _sigkill_mid_build(tmp_path)
    nxt = _build(tmp_path, "--force")
    assert nxt.wait(timeout=300) == 0, nxt.stderr.read()
    # within the same second the next build may take the version name the killed one never
    # published: that log is then the new version's own
    mine = [p for p in left if not (store / p.name.removesuffix(".build.log")).exists()]
    assert not any(p.exists() for p in mine), mine
    versions = {p.name for p in store.glob("bb-v*.sif")}
    for path in store.iterdir():  # every sidecar belongs to a version that exists
        if path.name.startswith("bb-v") and not path.name.endswith(".sif"):
            assert any(path.name.startswith(v + ".") for v in versions), path.name
    assert (
        list((store / ".scitex" / "tmp").glob("*")) == []
        if (store / ".scitex" / "tmp").exists()
        else True
    )


def test_a_failed_builds_log_stays_as_evidence(tmp_path: Path) -> None:
    (tmp_path / "bb.def").write_text(BUSYBOX_DEF + "\n%post\n    echo scitex-failing-step; false\n")
    proc = _build(tmp_path)
    assert proc.wait(timeout=300) != 0
    store = tmp_path / "out" / "bb"
    (tmp_path / "bb.def").write_text(DEF)
    nxt = _build(tmp_path)  # takes the lock and sweeps stale leftovers
    assert nxt.wait(timeout=300) == 0, nxt.stderr.read()
    versions = {p.name for p in store.glob("bb-v*.sif")}
    failed = [
        p for p in store.glob("*.build.log") if p.name.removesuffix(".build.log") not in versions
    ]
    assert len(failed) == 1 and "scitex-failing-step" in failed[0].read_text()
