"""status() says exactly what build() would do."""

from __future__ import annotations

from pathlib import Path

import pytest
from images import BUSYBOX_DEF

from scitex_container.apptainer import status
from scitex_container.apptainer.building.versioned import build_version
from scitex_container.errors import ScitexError
from scitex_container.files import temporaries
from scitex_container.process import runner

REFERENCE_KEYS = {
    "name",
    "def_path",
    "sif_path",
    "sif_size",
    "sif_date",
    "hash_current",
    "hash_stored",
    "needs_rebuild",
}


@pytest.fixture()
def containers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "a.def").write_text(BUSYBOX_DEF + "\n%files\n    payload /payload\n")
    (tmp_path / "b.def").write_text(BUSYBOX_DEF + "\n%files\n    missing /missing\n")
    (tmp_path / "payload").write_text("1\n")
    return tmp_path


def by_name(rows: list[dict]) -> dict[str, dict]:
    return {r["name"]: r for r in rows}


def would_build(containers: Path, name: str) -> bool:
    with runner.dry_run() as rec:
        try:
            build_version(def_path=containers / f"{name}.def")
        except ScitexError:
            return True  # a def that cannot build needs attention
    return bool(rec.commands)


def test_status_before_building(containers: Path) -> None:
    rows = by_name(status(containers))
    assert set(rows) == {"a", "b"} and set(rows["a"]) >= REFERENCE_KEYS
    assert (
        rows["a"]["needs_rebuild"] and rows["a"]["sif_path"] is None and rows["a"]["hash_current"]
    )
    assert rows["b"]["needs_rebuild"] and rows["b"]["hash_current"] is None
    line = len(BUSYBOX_DEF.splitlines()) + 3
    assert f"b.def:{line}: `%files` source `missing`" in rows["b"]["error"]


@pytest.mark.apptainer
def test_status_agrees_with_build(containers: Path) -> None:
    built = build_version(def_path=containers / "a.def")
    row = by_name(status(containers))["a"]
    assert row["sif_path"] == str(containers / "a" / "a.sif")
    assert row["hash_stored"] == row["hash_current"] == built.inputs_hash
    assert row["needs_rebuild"] is False and would_build(containers, "a") is False
    assert row["sif_size"].endswith("MB") and row["sif_date"]
    (containers / "payload").write_text("2\n")
    row = by_name(status(containers))["a"]
    before = temporaries.pending()
    assert row["needs_rebuild"] is True and would_build(containers, "a") is True
    assert temporaries.pending() == before  # a dry run makes no temporary to sweep
    assert row["hash_stored"] == built.inputs_hash != row["hash_current"]
