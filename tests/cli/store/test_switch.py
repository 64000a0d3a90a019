"""`switch`, `versions --protect`, `cleanup` under --dry-run: exit 1 only when work is pending."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from storekit import make_sif


@pytest.fixture()
def store(tmp_path: Path) -> Path:
    for i, ver in enumerate(["1.0", "2.0"]):
        make_sif(tmp_path / f"scitex-v{ver}.sif", seed=i)
    os.symlink("scitex-v2.0.sif", tmp_path / "current.sif")
    return tmp_path


def test_dry_run_switch_exits_1_only_when_the_link_would_move(sx, store: Path) -> None:
    ran = sx("--dry-run", "--json", "switch", "1.0", store)
    assert ran.code == 1 and ran.json()["result"]["version"] == "1.0"
    assert os.readlink(store / "current.sif") == "scitex-v2.0.sif"
    assert sx("--dry-run", "switch", "2.0", store).code == 0
    assert sx("switch", "1.0", store).code == 0  # not a dry run: done, exit 0
    assert os.readlink(store / "current.sif") == "scitex-v1.0.sif"


def test_dry_run_protect_exits_1_and_writes_no_marker(sx, store: Path) -> None:
    before = sorted(os.listdir(store))
    assert sx("--dry-run", "versions", "--protect", "1.0", store).code == 1
    assert sorted(os.listdir(store)) == before
    assert sx("versions", "--protect", "1.0", store).code == 0
    assert sx("--dry-run", "versions", "--protect", "1.0", store).code == 0  # already protected
    assert sx("--dry-run", "versions", "--unprotect", "1.0", store).code == 1


def test_dry_run_cleanup_exits_0_with_nothing_to_remove(sx, store: Path) -> None:
    assert sx("--dry-run", "cleanup", store, "-k", "5").code == 0
    ran = sx("--dry-run", "cleanup", store, "-k", "0")
    assert ran.code == 1 and "would remove" in ran.out
    assert (store / "scitex-v1.0.sif").exists()


def test_dry_run_rollback_exits_1_and_keeps_the_link(sx, store: Path) -> None:
    assert sx("--dry-run", "rollback", store).code == 1
    assert os.readlink(store / "current.sif") == "scitex-v2.0.sif"


def test_switch_takes_the_file_name_and_path_versions_prints(sx, store: Path) -> None:
    rows = sx("--json", "versions", store).json()
    old = next(r for r in rows if r["version"] == "1.0")["path"]
    assert sx("switch", Path(old).name, store).code == 0
    assert os.readlink(store / "current.sif") == "scitex-v1.0.sif"
    assert sx("switch", "2.0", store).code == 0
    assert sx("switch", old).code == 0  # the path alone names its store
    assert os.readlink(store / "current.sif") == "scitex-v1.0.sif"


def test_switch_without_store_and_no_containers_dir_says_what_to_give(
    sx, store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    ran = sx("switch", "1.0")
    assert ran.code == 2
    assert ran.err.startswith("error: STORE: not given") and "active link" in ran.err
    assert "no containers directory" in ran.err
