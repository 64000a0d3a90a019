"""Run the benchmark cases and print ratios: `python benchmarks/run.py [area ...] [--json]`.

Areas are the ``bench_<area>.py`` modules beside this file; each exposes
``cases(runs)`` yielding :class:`harness.CaseResult`.  An area that needs a
tool this machine lacks raises ``FileNotFoundError`` and is reported as
skipped.  A case that fails is an ERROR row, one whose preconditions did
not hold an INVALID row; an area that fails outside a case ends with an
ERROR row and the other areas still run.  The exit code is 1 when any case
errored, was invalid or missed its target, else 0.  ``--json`` prints the
commit, the machine's load and core count beside the rows.  ``--smoke``
runs every case once at small sizes (for the test suite: timings mean
nothing there, only that every case still runs and is valid).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import SMOKE_ENV, CaseResult, error_row, machine, report  # noqa: E402


def run_area(area: str, runs: int) -> list[CaseResult]:
    rows: list[CaseResult] = []
    started = time.monotonic()
    try:
        module = importlib.import_module(f"bench_{area}")
        for row in module.cases(runs):
            row.area = area
            rows.append(row)
    except FileNotFoundError as exc:
        if rows:  # a tool missing is said before the first case; later it is a failure
            row = error_row(f"{area}: area aborted after {len(rows)} case(s)", exc)
        else:
            row = CaseResult(f"{area}: skipped", 0.0, 0.0, 0.0, str(exc), None, 0)
        row.area = area
        rows.append(row)
    except Exception as exc:
        row = error_row(f"{area}: area aborted after {len(rows)} case(s)", exc)
        row.area = area
        rows.append(row)
    print(f"{area}: {len(rows)} row(s) in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return rows


def exit_code(results: list[CaseResult]) -> int:
    """1 when any case errored, was invalid or missed its target."""
    return 1 if any(r.failed for r in results) else 0


def main() -> int:
    areas = sorted(p.stem[len("bench_") :] for p in HERE.glob("bench_*.py"))
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "areas", nargs="*", metavar="AREA", help=f"any of: {', '.join(areas)} (default: all)"
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="every case once, small sizes")
    args = parser.parse_args()
    unknown = sorted(set(args.areas) - set(areas))
    if unknown:
        parser.error(f"unknown area(s): {', '.join(unknown)}; choose from {', '.join(areas)}")
    if args.smoke:
        os.environ[SMOKE_ENV] = "1"
        args.runs = 1
    meta = machine()
    results: list[CaseResult] = []
    # What a case's tools print goes to stderr: stdout carries the report (JSON) alone.
    sys.stdout.flush()
    stdout = os.dup(1)
    os.dup2(2, 1)
    try:
        for area in args.areas or areas:
            results.extend(run_area(area, args.runs))
    finally:
        sys.stdout.flush()
        os.dup2(stdout, 1)
        os.close(stdout)
    meta["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    report(results, args.json, meta)
    return exit_code(results)


if __name__ == "__main__":
    sys.exit(main())
