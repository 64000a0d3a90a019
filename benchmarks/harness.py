"""Side-by-side timing: our command against the raw tool, in one run.

Each case times both sides ``runs`` times (interleaved, after one warm-up
unless disabled) and reports medians and the ratio ours/raw.  Targets are
printed next to the ratio; they are never asserted as timings in tests.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

Action = Callable[[], object] | Sequence[str]


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
) -> CaseResult:
    """Time ``ours`` and ``raw`` alternately; ratio = median(ours)/median(raw)."""
    if warmup:
        if setup:
            setup()
        _call(ours)
        if setup:
            setup()
        _call(raw)
    ours_t: list[float] = []
    raw_t: list[float] = []
    for _ in range(runs):
        if setup:
            setup()
        ours_t.append(_call(ours))
        if setup:
            setup()
        raw_t.append(_call(raw))
    om, rm = statistics.median(ours_t), statistics.median(raw_t)
    ratio = om / rm if rm > 0 else float("inf")
    met = None
    if max_ratio is not None:
        met = ratio <= max_ratio
    if min_ratio is not None:
        met = (met is not False) and ratio >= min_ratio
    return CaseResult(name, om, rm, ratio, target, met, runs, ours_t, raw_t)


def absolute(
    name: str, action: Action, *, runs: int = 5, max_seconds: float, target: str = ""
) -> CaseResult:
    """A case with an absolute target (e.g. 'status over 200 images <= 300 ms')."""
    samples = [_call(action) for _ in range(runs)]
    med = statistics.median(samples)
    return CaseResult(
        name, med, max_seconds, med / max_seconds, target, med <= max_seconds, runs, samples, []
    )


def report(results: list[CaseResult], json_out: bool = False) -> None:
    if json_out:
        print(json.dumps([asdict(r) for r in results], indent=2))
        return
    print(f"{'case':48} {'ours':>10} {'raw/limit':>10} {'ratio':>8}  target")
    for r in results:
        verdict = {True: "met", False: "MISSED", None: ""}[r.met]
        print(
            f"{r.name:48} {r.ours_median_s * 1000:9.1f}ms {r.raw_median_s * 1000:9.1f}ms "
            f"{r.ratio:8.3f}  {r.target} {verdict}"
        )
        for key, value in r.notes.items():
            print(f"{'':48}   {key}: {value}")
    sys.stdout.flush()
