"""Ctrl-C during a real build, per phase: how long until the command returns, what it leaves.

Both sides get the same treatment a terminal gives them: the command runs
in its own session and SIGINT goes to that whole process group, as Ctrl-C
sends it to the foreground group.  The def (:func:`interrupt_def`) makes
every phase long enough to be hit:

* ``bootstrap``: from the start of apptainer's work (its temporary space
  appeared) until ``%post`` starts (the rootfs made, ``%files`` copied);
* ``post``: ``%post`` marks its start in a host directory (apptainer binds
  the host's ``/tmp`` into ``%post``) and waits at a gate this harness
  keeps closed for that trial;
* ``squashfs``: the gate is open beforehand, ``%post`` marks its end, and
  the signal is sent while ``mksquashfs`` runs in the command's process
  tree over the large ``%files`` payload.

A trial is valid only when, at the moment the signal was sent, the command
was still running and in the phase the trial aims at (checked from the
markers' state and the process tree), and the command then failed (a build
that completed did not see the signal in time).  Measured per trial: the
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
from dataclasses import dataclass
from pathlib import Path

from harness import CaseResult, error_row, smoke

REPO = Path(__file__).resolve().parents[1]
PHASES = ("bootstrap", "post", "squashfs")
POST_MAX_S = 120  # the gate's own limit: a forgotten %post never hangs a run


def tree_bytes(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def interrupt_def(base_def: str, gate: Path) -> str:
    """``base_def`` (its %files kept) plus a %post that marks its start, waits, marks its end."""
    loops = POST_MAX_S * 10
    post = (
        f"\n%post\n    : > {gate}/in-post\n"
        f"    i=0\n    while [ ! -e {gate}/open ] && [ $i -lt {loops} ]; do\n"
        "        sleep 0.1; i=$((i+1))\n    done\n"
        # 32 MB of random bytes made in the image, after the gate: mksquashfs then works a
        # second or more (smoke sizes included), while the bootstrap stays as it was
        "    dd if=/dev/urandom of=/squash.bin bs=1048576 count=32 2>/dev/null\n"
        f"    : > {gate}/post-done\n"
    )
    return base_def + post


def _descendant_names(pid: int) -> list[str]:
    """The command names of ``pid``'s descendants (from /proc, host PIDs)."""
    children: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        close = stat.rfind(")")
        fields = stat[close + 2 :].split()
        child = int(entry.name)
        names[child] = stat[stat.find("(") + 1 : close]
        children.setdefault(int(fields[1]), []).append(child)
    found, todo = [], list(children.get(pid, []))
    while todo:
        child = todo.pop()
        found.append(names.get(child, ""))
        todo.extend(children.get(child, []))
    return found


def _reset_signals() -> None:  # a benchmark started under nohup must not pass SIG_IGN on
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


@dataclass(frozen=True)
class Side:
    argv: list[str]
    env: dict[str, str]
    started: Callable[[], bool]  # apptainer's temporary space appeared
    left: Callable[[], int]  # bytes left in the temporary roots
    wraps: bool = False  # apptainer runs as a child (ours), not as the command itself


@dataclass
class Trial:
    phase: str
    seconds: float = 0.0
    left: int = 0
    problem: str = ""  # why the trial does not count, if it does not


def _apptainer_at_work(side: Side, pid: int) -> bool:
    if not side.started():
        return False
    return not side.wraps or "apptainer" in _descendant_names(pid)


def _phase_now(gate: Path, pid: int, side: Side) -> str:
    if not (gate / "in-post").exists():
        return "bootstrap" if _apptainer_at_work(side, pid) else "before-apptainer"
    if not (gate / "post-done").exists():
        return "post"
    return "squashfs" if "mksquashfs" in _descendant_names(pid) else "after-post"


def _reached(phase: str, gate: Path, pid: int, side: Side) -> bool:
    if phase == "bootstrap":
        return _apptainer_at_work(side, pid)
    if phase == "post":
        return (gate / "in-post").exists()
    return "mksquashfs" in _descendant_names(pid)


def _trial(side: Side, cwd: Path, gate: Path, phase: str, delay: float) -> Trial:
    for name in ("in-post", "post-done", "open"):
        (gate / name).unlink(missing_ok=True)
    if phase == "squashfs":
        (gate / "open").touch()
    trial = Trial(phase)
    proc = subprocess.Popen(
        side.argv,
        cwd=cwd,
        env=side.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=_reset_signals,
    )
    try:
        deadline = time.monotonic() + 300
        while proc.poll() is None and time.monotonic() < deadline:
            if _reached(phase, gate, proc.pid, side):
                break
            time.sleep(0.01)
        time.sleep(delay)
        at = _phase_now(gate, proc.pid, side)
        running = proc.poll() is None
        sent = time.monotonic()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        code = proc.wait(timeout=300)
        trial.seconds = time.monotonic() - sent
        if not running:
            trial.problem = f"had exited (code {code}) before the signal"
        elif at != phase:
            trial.problem = f"was in phase {at}, not {phase}, when signalled"
        elif code == 0:
            trial.problem = "completed the build despite the signal"
        trial.left = side.left()
    finally:
        with contextlib.suppress(ProcessLookupError):  # nothing may survive into the next trial
            os.killpg(proc.pid, signal.SIGKILL)
        (gate / "open").touch()  # a %post of a straggler must not wait
        proc.wait()
    return trial


def _sides(root: Path, def_path: Path, store_out: Path) -> tuple[Side, Side, Path]:
    raw_tmp, our_tmp = root / "raw-tmpdir", root / "our-tmpdir"
    raw_tmp.mkdir(exist_ok=True)
    our_tmp.mkdir(exist_ok=True)
    store = store_out / def_path.stem
    scratch = store / ".scitex" / "tmp"
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("APPTAINER_TMPDIR")}
    src = str(REPO / "src")
    ours_env = {
        **base_env,
        "TMPDIR": str(our_tmp),
        "PYTHONPATH": src + os.pathsep + base_env.get("PYTHONPATH", ""),
        "SCITEX_CONTAINER_STAGE_CACHE": "0",  # the same work as the raw side: one cold build
    }
    ours_argv = [sys.executable, "-m", "scitex_container", "build", str(def_path)]
    ours_argv += ["-o", str(store_out), "--force"]
    raw_argv = ["apptainer", "build", "--fakeroot", "--force", str(root / "raw-int.sif")]
    raw_argv.append(str(def_path))

    def ours_left() -> int:
        hidden = [p for p in store.iterdir() if p.name.startswith(".") and p.name != ".scitex"]
        return tree_bytes(scratch) + sum(tree_bytes(p) for p in hidden) + tree_bytes(our_tmp)

    def ours_started() -> bool:
        """apptainer's temporary space inside our build scratch (``.scitex/tmp/<pid>-<ns>/``),
        the same evidence as raw's: our scratch folder itself exists before apptainer runs."""
        try:
            return any(_any_entry(Path(e.path)) for e in os.scandir(scratch) if e.is_dir())
        except FileNotFoundError:
            return False

    ours = Side(ours_argv, ours_env, ours_started, ours_left, wraps=True)
    raw = Side(
        raw_argv,
        {**base_env, "APPTAINER_TMPDIR": str(raw_tmp)},
        lambda: _any_entry(raw_tmp),
        lambda: tree_bytes(raw_tmp),
    )
    return ours, raw, raw_tmp


def _any_entry(path: Path) -> bool:
    try:
        return any(os.scandir(path))
    except OSError:
        return False


def interrupt_cases(
    root: Path, def_path: Path, gate: Path, store_out: Path, runs: int
) -> list[CaseResult]:
    """SIGINT a real build (ours through the CLI, raw apptainer) in each phase, same moments."""
    rng = random.Random(5)
    ours, raw, raw_tmp = _sides(root, def_path, store_out)
    rows = []
    for phase in PHASES:
        name = f"store: Ctrl-C in {phase}: time to return"
        try:
            ours_trials, raw_trials = [], []
            for _ in range(1 if smoke() else runs):
                delay = {"bootstrap": 0.0, "post": rng.uniform(0.0, 1.0)}.get(
                    phase, rng.uniform(0.0, 0.2)
                )
                ours_trials.append(_trial(ours, def_path.parent, gate, phase, delay))
                raw_trials.append(_trial(raw, def_path.parent, gate, phase, delay))
                subprocess.run(["rm", "-rf", str(raw_tmp)], check=False)
                raw_tmp.mkdir()
            rows.append(_row(name, ours_trials, raw_trials))
        except Exception as exc:
            rows.append(error_row(name, exc))
    return rows


def _row(name: str, ours: list[Trial], raw: list[Trial]) -> CaseResult:
    ours_t = [t.seconds for t in ours]
    raw_t = [t.seconds for t in raw]
    om, rm = statistics.median(ours_t), statistics.median(raw_t)
    row = CaseResult(
        name,
        om,
        rm,
        om / rm if rm > 0 else float("inf"),
        "CLI returns <= 5 s, 0 bytes left in temp",
        max(ours_t) <= 5.0 and max(t.left for t in ours) == 0,
        len(ours),
        ours_t,
        raw_t,
        notes={
            "trials landed in the phase (ours, raw)": (
                f"{sum(not t.problem for t in ours)}/{len(ours)}, "
                f"{sum(not t.problem for t in raw)}/{len(raw)}"
            ),
            "seconds to return (ours, max)": round(max(ours_t), 3),
            "seconds to return (raw apptainer, max)": round(max(raw_t), 3),
            "bytes left in temp (ours, max)": max(t.left for t in ours),
            "bytes left in temp (raw apptainer, max)": max(t.left for t in raw),
        },
    )
    problems = [f"ours: {t.problem}" for t in ours if t.problem]
    problems += [f"raw: {t.problem}" for t in raw if t.problem]
    if problems:
        row.invalidate("; ".join(sorted(set(problems))))
    return row
