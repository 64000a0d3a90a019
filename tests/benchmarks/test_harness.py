"""The benchmark harness's own logic: invalid and error rows, areas that fail, the exit code."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import harness  # noqa: E402
import run  # noqa: E402


def test_a_failed_precondition_makes_the_row_invalid_with_its_reason() -> None:
    def check(side: str) -> None:
        if side == "raw":
            raise harness.Invalid("raw did other work")

    row = harness.compare("c", lambda: None, lambda: None, runs=1, warmup=False, check=check)
    assert (row.status, row.invalid_reason, row.failed) == ("INVALID", "raw did other work", True)


def test_an_exception_in_a_case_is_an_error_row_not_an_abort() -> None:
    def boom() -> None:
        raise RuntimeError("the tool crashed")

    row = harness.compare("c", boom, lambda: None, runs=1)
    assert row.status == "ERROR" and "RuntimeError: the tool crashed" in row.error
    assert "test_harness.py" in row.error  # where it failed
    row = harness.absolute("a", ["false"], runs=1, max_seconds=1.0)
    assert row.status == "ERROR" and "CalledProcessError" in row.error


def test_a_measured_case_reports_met_or_missed() -> None:
    met = harness.compare("c", lambda: None, ["true"], runs=1, warmup=False, max_ratio=1.0)
    assert met.status == "met" and not met.failed and met.ours_samples and met.raw_samples
    missed = harness.compare("c", ["true"], lambda: None, runs=1, warmup=False, max_ratio=1.0)
    assert missed.status == "MISSED" and missed.failed
    assert run.exit_code([met]) == 0 and run.exit_code([met, missed]) == 1


def test_a_failing_area_is_an_error_row_and_the_next_area_still_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "bench_zzbroken.py").write_text(
        "from harness import compare\n"
        "def cases(runs):\n"
        "    yield compare('first', ['true'], ['true'], runs=1, warmup=False)\n"
        "    raise OSError('the image cache is gone')\n"
    )
    (tmp_path / "bench_zzfine.py").write_text(
        "from harness import compare\n"
        "def cases(runs):\n"
        "    yield compare('fine', ['true'], ['true'], runs=1, warmup=False)\n"
    )
    (tmp_path / "bench_zzmissing.py").write_text(
        "def cases(runs):\n    raise FileNotFoundError('no such tool')\n    yield\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    rows = [r for area in ("zzbroken", "zzmissing", "zzfine") for r in run.run_area(area, 1)]
    assert [(r.area, r.status) for r in rows] == [
        ("zzbroken", "report"),
        ("zzbroken", "ERROR"),
        ("zzmissing", "report"),
        ("zzfine", "report"),
    ]
    assert "OSError: the image cache is gone" in rows[1].error
    assert rows[2].name == "zzmissing: skipped" and rows[2].target == "no such tool"
    assert run.exit_code(rows) == 1 and run.exit_code(rows[2:]) == 0


def test_machine_names_the_commit_the_load_and_the_cores() -> None:
    meta = harness.machine()
    assert len(meta["commit"]) == 40 and meta["cores"] >= 1 and len(meta["load_avg"]) == 3
