"""Run the benchmark cases and print ratios: `python benchmarks/run.py [area ...] [--json]`.

Areas are the ``bench_<area>.py`` modules beside this file; each exposes
``cases(runs)`` yielding :class:`harness.CaseResult`.  Cases that need a
tool this machine lacks are reported as skipped.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from harness import report  # noqa: E402


def main() -> int:
    areas = sorted(p.stem[len("bench_") :] for p in HERE.glob("bench_*.py"))
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "areas", nargs="*", metavar="AREA", help=f"any of: {', '.join(areas)} (default: all)"
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    unknown = sorted(set(args.areas) - set(areas))
    if unknown:
        parser.error(f"unknown area(s): {', '.join(unknown)}; choose from {', '.join(areas)}")
    results = []
    for area in args.areas or areas:
        module = importlib.import_module(f"bench_{area}")
        try:
            results.extend(module.cases(args.runs))
        except FileNotFoundError as exc:
            print(f"{area}: skipped ({exc})", file=sys.stderr)
    report(results, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
