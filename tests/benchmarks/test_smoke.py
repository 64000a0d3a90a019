"""Every benchmark case runs once, small, and produces a valid row (no timing targets here).

Each area runs as ``benchmarks/run.py AREA --smoke --json`` in its own
process, as a user runs it; the rows must all be there, measured (samples
taken), and neither ERROR, INVALID nor skipped.  Whether a case met its
target is not asserted: smoke timings on a shared machine mean nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "benchmarks"
AREAS = sorted(p.stem[len("bench_") :] for p in BENCH.glob("bench_*.py"))
#: The real tools each area drives (the suite's markers), so a missing tool skips locally.
NEEDS = {
    "archive": ["apptainer"],
    "docker": ["compose"],
    "locks": ["apptainer"],
    "pins": ["apptainer"],
    "sessions": ["slurm", "apptainer"],
    "signing": ["apptainer"],
    "stages": ["apptainer"],
    "store": ["apptainer"],
    "transfer": ["apptainer"],
}
#: The rows each area must produce (a case that silently stops yielding is a rotted case).
MIN_ROWS = {"cli": 1, "host": 2, "store": 10, "locks": 4, "pins": 3, "signing": 6, "docker": 3}
MIN_ROWS |= {"sessions": 4, "archive": 3, "transfer": 4}
MIN_ROWS |= {"containment": 2, "firsthour": 2, "mcp": 3, "stages": 6}
MIN_ROWS |= {"shellstate": 3}


def _params():
    for area in AREAS:
        marks = [getattr(pytest.mark, name) for name in NEEDS.get(area, [])]
        yield pytest.param(area, marks=marks, id=area)


@pytest.mark.parametrize("area", list(_params()))
def test_every_case_of_the_area_runs_and_is_valid(area: str, tmp_path: Path) -> None:
    if area in ("sessions", "archive") and os.geteuid() != 0:
        pytest.skip(f"the {area} benchmarks need root (runuser / unshare --net)")
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    env.pop("SCITEX_BENCH_SMOKE", None)
    done = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), area, "--smoke", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=tmp_path,
    )
    assert done.stdout.strip(), done.stderr[-2000:]
    out = json.loads(done.stdout)
    assert out["smoke"] is True and out["cores"] == os.cpu_count()
    assert len(out["commit"]) == 40 and len(out["load_avg"]) == 3
    rows = out["results"]
    bad = [f"{r['name']}: {r['status']} {r['error'] or r['invalid_reason']}" for r in rows]
    bad = [b for b, r in zip(bad, rows, strict=True) if r["status"] in ("ERROR", "INVALID")]
    assert not bad, "\n".join(bad) + "\n" + done.stderr[-2000:]
    assert not [r for r in rows if r["name"].endswith(": skipped")], rows
    assert len(rows) >= MIN_ROWS.get(area, 1), [r["name"] for r in rows]
    for row in rows:
        assert row["area"] == area
        assert row["runs"] >= 1 and row["ours_samples"], row
        assert all(s >= 0 for s in row["ours_samples"] + row["raw_samples"]), row
        assert row["ours_median_s"] >= 0 and row["status"] in ("met", "MISSED", "report")
    # the exit code follows the rows: non-zero exactly when some case missed its target
    assert done.returncode == (1 if any(r["status"] == "MISSED" for r in rows) else 0)
    if area == "store":
        phases = [r for r in rows if "Ctrl-C in" in r["name"]]
        assert len(phases) == 3
        for row in phases:
            assert row["notes"]["trials landed in the phase (ours, raw)"] == "1/1, 1/1", row


def test_the_smoke_test_covers_every_area() -> None:
    assert set(MIN_ROWS) == set(AREAS), "a new benchmark area needs its expected row count"
