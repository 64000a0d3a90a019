"""Ctrl-C during a real build: how long until the command returns, what it leaves in temp.

Both sides get the same treatment a terminal gives them: the command runs
in its own session and, once apptainer is at work (its temporary space has
appeared) plus a seeded random delay, SIGINT goes to that whole process
group, as Ctrl-C sends it to the foreground group.  Measured per trial: the
seconds from the signal until the command returned, and the bytes left in
the temporary roots (raw: the private ``APPTAINER_TMPDIR`` it was given;
ours: the store's ``.scitex/tmp``, hidden temporaries in the store and a
private ``TMPDIR``), once the command has returned.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from harness import CaseResult

REPO = Path(__file__).resolve().parents[1]


def tree_bytes(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def _reset_signals() -> None:  # a benchmark started under nohup must not pass SIG_IGN on
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


def _trial(
    argv: list[str],
    env: dict[str, str],
    cwd: Path,
    started: Callable[[], bool],
    left: Callable[[], int],
    delay: float,
) -> tuple[float, int]:
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=_reset_signals,
    )
    deadline = time.monotonic() + 120
    while not started() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(delay)
    sent = time.monotonic()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGINT)
    proc.wait()
    returned = time.monotonic() - sent
    with_left = left()
    with contextlib.suppress(ProcessLookupError):  # nothing may survive into the next trial
        os.killpg(proc.pid, signal.SIGKILL)
    return returned, with_left


def _any_entry(path: Path) -> bool:
    try:
        return any(os.scandir(path))
    except OSError:
        return False


def interrupt_case(root: Path, def_path: Path, store_out: Path, runs: int) -> CaseResult:
    """SIGINT a real build (ours through the CLI, raw apptainer) at the same moments."""
    rng = random.Random(5)
    raw_tmp, our_tmp = root / "raw-tmpdir", root / "our-tmpdir"
    raw_tmp.mkdir()
    our_tmp.mkdir()
    store = store_out / def_path.stem
    scratch = store / ".scitex" / "tmp"
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("APPTAINER_TMPDIR")}
    src = str(REPO / "src")
    ours_env = {
        **base_env,
        "TMPDIR": str(our_tmp),
        "PYTHONPATH": src + os.pathsep + base_env.get("PYTHONPATH", ""),
    }
    raw_env = {**base_env, "APPTAINER_TMPDIR": str(raw_tmp)}
    ours_argv = [sys.executable, "-m", "scitex_container", "build", str(def_path)]
    ours_argv += ["-o", str(store_out), "--force"]
    raw_argv = ["apptainer", "build", "--fakeroot", "--force", str(root / "raw-int.sif")]
    raw_argv.append(str(def_path))

    def ours_left() -> int:
        hidden = [p for p in store.iterdir() if p.name.startswith(".") and p.name != ".scitex"]
        return tree_bytes(scratch) + sum(tree_bytes(p) for p in hidden) + tree_bytes(our_tmp)

    ours_t, raw_t, ours_b, raw_b = [], [], [], []
    for _ in range(runs):
        delay = rng.uniform(0.2, 3.0)
        t, b = _trial(
            ours_argv, ours_env, def_path.parent, lambda: _any_entry(scratch), ours_left, delay
        )
        ours_t.append(t)
        ours_b.append(b)
        t, b = _trial(
            raw_argv,
            raw_env,
            def_path.parent,
            lambda: _any_entry(raw_tmp),
            lambda: tree_bytes(raw_tmp),
            delay,
        )
        raw_t.append(t)
        raw_b.append(b)
        subprocess.run(["rm", "-rf", str(raw_tmp)], check=False)
        raw_tmp.mkdir()
    om, rm = statistics.median(ours_t), statistics.median(raw_t)
    met = max(ours_t) <= 5.0 and max(ours_b) == 0
    return CaseResult(
        "store: Ctrl-C during a real build: time to return",
        om,
        rm,
        om / rm if rm > 0 else float("inf"),
        "CLI returns <= 5 s, 0 bytes left in temp",
        met,
        runs,
        ours_t,
        raw_t,
        notes={
            "seconds to return (ours, max)": round(max(ours_t), 3),
            "seconds to return (raw apptainer, max)": round(max(raw_t), 3),
            "bytes left in temp (ours, max)": max(ours_b),
            "bytes left in temp (raw apptainer, max)": max(raw_b),
        },
    )
