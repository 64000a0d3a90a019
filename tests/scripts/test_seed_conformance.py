"""scripts/seed_conformance.py on a small stand-in of the seed's checkout (no network needed).

The stand-in's tests import the seed's private module paths; the script must
run them against this package and classify each failure, exiting 1 only for
one no rule explains.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "seed_conformance.py"

MAPPED = """
from scitex_container.apptainer import _utils as u
from scitex_container import _snapshot as snap


def test_private_path_reaches_our_public_function(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "containers").mkdir()
    (tmp_path / "containers" / "a.def").write_text("Bootstrap: scratch\\n")
    assert u.find_containers_dir() == tmp_path / "containers"


def test_snapshot_schema_is_the_seeds():
    assert snap.env_snapshot("/nonexistent")["schema_version"] == "1.0"


def test_a_private_helper():
    assert snap._sha256_file
"""
CLI = """
from scitex_container._cli._status import status  # the seed's click module


def test_status():
    assert status
"""
UNEXPLAINED = """
def test_a_difference_nobody_explained():
    assert 1 == 2
"""


def _seed(root: Path, *, unexplained: bool) -> Path:
    tests = root / "tests"
    (tests / "scitex_container" / "_cli").mkdir(parents=True)
    (tests / "conftest.py").write_text("raise RuntimeError('the seed conftest must not run')\n")
    (tests / "test_mapped.py").write_text(MAPPED)
    (tests / "scitex_container" / "_cli" / "test__status.py").write_text(CLI)
    if unexplained:
        (tests / "test_other.py").write_text(UNEXPLAINED)
    return root


def _run(seed: Path) -> tuple[int, list[dict]]:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(seed), "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.returncode, json.loads(done.stdout[: done.stdout.rindex("]") + 1])


def test_private_imports_reach_our_api_and_failures_are_classified(tmp_path):
    code, results = _run(_seed(tmp_path / "seed", unexplained=False))
    by_name = {r["nodeid"].rsplit("::", 1)[-1]: r for r in results}
    assert by_name["test_private_path_reaches_our_public_function"]["outcome"] == "passed"
    assert by_name["test_snapshot_schema_is_the_seeds"]["outcome"] == "passed"
    assert by_name["test_a_private_helper"]["category"] == "seed-internal"
    cli = next(r for r in results if "_cli" in r["nodeid"])
    assert cli["category"] == "seed-internal"
    assert code == 0


def test_an_unexplained_failure_exits_1(tmp_path):
    code, results = _run(_seed(tmp_path / "seed", unexplained=True))
    assert code == 1
    (other,) = [r for r in results if r["nodeid"].endswith("test_a_difference_nobody_explained")]
    assert other["category"] == "UNCLASSIFIED"


def test_the_pure_builders_texlive_difference_is_classified_deliberate():
    # the seed's c54fbdc test expects /bin/ binds from build_host_mount_binds(texlive_prefix=)
    import importlib.util

    spec = importlib.util.spec_from_file_location("seed_conformance", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    category, reason = module.classify(
        "tests/scitex_container/apptainer/test__command_builder.py::TestBuildHostMountBinds"
        "::test_texlive_prefix_generates_binary_binds",
        "AssertionError: Expected at least one /bin/ bind for texlive_prefix=/usr",
    )
    assert category == "deliberate" and "pure" in reason
