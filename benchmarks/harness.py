"""Side-by-side timing: our command against the raw tool, in one run.

Each case times both sides ``runs`` times (interleaved, after one warm-up
unless disabled) and reports medians and the ratio ours/raw.  Targets are
printed next to the ratio; they are never asserted as timings in tests.

A case that cannot measure what it says is not a timing: an action (or a
``check``) raises :class:`Invalid` with the reason when a precondition does
not hold (the cache was not empty, the process had already exited when the
signal was sent, the raw side did other work) and the row says INVALID.  Any
other exception in a case becomes an ERROR row; the run goes on.

Smoke mode (``run.py --smoke``, environment ``SCITEX_BENCH_SMOKE=1``) runs
every case once, without warm-up, at the small sizes :func:`size` picks, so
the suite can check that no case rots; its timings mean nothing.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

Action = Callable[[], object] | Sequence[str]
SMOKE_ENV = "SCITEX_BENCH_SMOKE"


def smoke() -> bool:
    return os.environ.get(SMOKE_ENV) == "1"


def size(full, small):
    """``full`` in a real run, ``small`` in smoke mode."""
    return small if smoke() else full


class Invalid(Exception):
    """A precondition of the case does not hold: its timing would not mean what it says."""


def _call(action: Action) -> float:
    start = time.perf_counter()
    if callable(action):
        action()
    else:
        subprocess.run(
            list(action), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
    return time.perf_counter() - start


@dataclass
class CaseResult:
    name: str
    ours_median_s: float
    raw_median_s: float
    ratio: float
    target: str
    met: bool | None
    runs: int
    ours_samples: list[float] = field(default_factory=list)
    raw_samples: list[float] = field(default_factory=list)
    notes: dict = field(default_factory=dict)  #: other figures measured with the case
    valid: bool = True
    invalid_reason: str = ""
    error: str = ""
    area: str = ""

    @property
    def status(self) -> str:
        if self.error:
            return "ERROR"
        if not self.valid:
            return "INVALID"
        return {True: "met", False: "MISSED", None: "report"}[self.met]

    @property
    def failed(self) -> bool:
        """Errored, invalid or missed its target: ``run.py`` exits non-zero."""
        return self.status in ("ERROR", "INVALID", "MISSED")

    def invalidate(self, reason: str) -> CaseResult:
        self.valid = False
        self.invalid_reason = reason
        return self


def error_row(name: str, exc: BaseException) -> CaseResult:
    where = traceback.extract_tb(exc.__traceback__)
    place = f" at {os.path.basename(where[-1].filename)}:{where[-1].lineno}" if where else ""
    message = f"{type(exc).__name__}: {exc}".strip()[:300]
    return CaseResult(name, 0.0, 0.0, 0.0, "", None, 0, error=message + place)


def invalid_row(name: str, reason: str, target: str = "") -> CaseResult:
    return CaseResult(name, 0.0, 0.0, 0.0, target, None, 0, valid=False, invalid_reason=reason)


def guarded(name: str, make: Callable[[], CaseResult]) -> CaseResult:
    """``make()``, or an INVALID / ERROR row named ``name`` when it raises."""
    try:
        return make()
    except Invalid as exc:
        return invalid_row(name, str(exc))
    except Exception as exc:
        return error_row(name, exc)


def _verdict(ratio: float, max_ratio: float | None, min_ratio: float | None) -> bool | None:
    met = None
    if max_ratio is not None:
        met = ratio <= max_ratio
    if min_ratio is not None:
        met = (met is not False) and ratio >= min_ratio
    return met


def compare(
    name: str,
    ours: Action,
    raw: Action,
    *,
    runs: int = 5,
    warmup: bool = True,
    max_ratio: float | None = None,
    min_ratio: float | None = None,
    target: str = "",
    setup: Callable[[], object] | None = None,
    check: Callable[[str], object] | None = None,
) -> CaseResult:
    """Time ``ours`` and ``raw`` alternately; ratio = median(ours)/median(raw).

    ``setup`` runs (untimed) before every call; ``check(side)`` after it
    (untimed; ``side`` is ``"ours"`` or ``"raw"``), to raise :class:`Invalid`
    when the run did not do what the case claims.
    """
    return guarded(
        name,
        lambda: _compare(name, ours, raw, runs, warmup, max_ratio, min_ratio, target, setup, check),
    )


def _compare(name, ours, raw, runs, warmup, max_ratio, min_ratio, target, setup, check):
    if smoke():
        runs, warmup = 1, False

    def once(side: str, action: Action) -> float:
        if setup:
            setup()
        took = _call(action)
        if check:
            check(side)
        return took

    if warmup:
        once("ours", ours)
        once("raw", raw)
    ours_t: list[float] = []
    raw_t: list[float] = []
    for _ in range(runs):
        ours_t.append(once("ours", ours))
        raw_t.append(once("raw", raw))
    om, rm = statistics.median(ours_t), statistics.median(raw_t)
    ratio = om / rm if rm > 0 else float("inf")
    met = _verdict(ratio, max_ratio, min_ratio)
    return CaseResult(name, om, rm, ratio, target, met, runs, ours_t, raw_t)


def absolute(
    name: str, action: Action, *, runs: int = 5, max_seconds: float, target: str = ""
) -> CaseResult:
    """A case with an absolute target (e.g. 'status over 200 images <= 300 ms')."""

    def make() -> CaseResult:
        samples = [_call(action) for _ in range(1 if smoke() else runs)]
        med = statistics.median(samples)
        return CaseResult(
            name, med, max_seconds, med / max_seconds, target, med <= max_seconds, len(samples),
            samples, [],
        )  # fmt: skip

    return guarded(name, make)


def machine() -> dict:
    """What a run is compared by over time: the commit, the load, the cores."""
    here = os.path.dirname(os.path.abspath(__file__))

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", here, *args], capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    return {
        "commit": git("rev-parse", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        "load_avg": [round(x, 2) for x in os.getloadavg()],
        "cores": os.cpu_count(),
        "python": sys.version.split()[0],
        "smoke": smoke(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def report(results: list[CaseResult], json_out: bool = False, meta: dict | None = None) -> None:
    if json_out:
        rows = []
        for r in results:
            row = asdict(r)
            row["status"] = r.status
            rows.append(row)
        print(json.dumps({**(meta or {}), "results": rows}, indent=2))
        sys.stdout.flush()
        return
    if meta:
        print(
            f"commit {meta['commit'][:12]}{' (dirty)' if meta['dirty'] else ''}, "
            f"{meta['cores']} cores, load {meta['load_avg']}"
            + (", SMOKE (timings mean nothing)" if meta.get("smoke") else "")
        )
    print(f"{'case':48} {'ours':>10} {'raw/limit':>10} {'ratio':>8}  target")
    for r in results:
        if r.status == "ERROR":
            print(f"{r.name:48} {'ERROR':>10}   {r.error}")
            continue
        if r.status == "INVALID" and not r.runs:
            print(f"{r.name:48} {'INVALID':>10}   {r.invalid_reason}")
            continue
        verdict = "" if r.status == "report" else r.status
        print(
            f"{r.name:48} {r.ours_median_s * 1000:9.1f}ms {r.raw_median_s * 1000:9.1f}ms "
            f"{r.ratio:8.3f}  {r.target} {verdict}"
        )
        if r.status == "INVALID":
            print(f"{'':48}   INVALID: {r.invalid_reason}")
        for key, value in r.notes.items():
            print(f"{'':48}   {key}: {value}")
    sys.stdout.flush()
