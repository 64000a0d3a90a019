"""Shared options: a path that does not exist is exit 2 naming it, for every command."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

NX = "nx-does-not-exist"

#: Every command taking a path, with the missing path in each position it accepts.
MISSING = [
    ("status", NX),
    ("status", "--check", NX),
    ("versions", NX),
    ("switch", "1.0", NX),
    ("rollback", NX),
    ("cleanup", NX),
    ("deploy", NX, "target"),
    ("verify", f"{NX}.sif"),
    ("verify", "EXISTS", "--def", f"{NX}.def"),
    ("verify", "EXISTS", "--lock-dir", NX),
    ("build", f"{NX}.def"),
    ("build", f"sub/{NX}"),
    ("repro", f"{NX}.def"),
    ("sbom", NX),
    ("snapshot", "--containers-dir", NX),
    ("snapshot", "--dev-repo", NX),
    ("lock", "capture", NX),
    ("lock", "diff", NX, "EXISTS"),
    ("lock", "diff", "EXISTS", NX),
    ("lock", "freeze", NX),
    ("lock", "pin", f"{NX}.def", "EXISTS"),
    ("lock", "pin", "EXISTS", f"{NX}.lock"),
    ("sandbox", "create", NX),
    ("sandbox", "maintain", NX, "true"),
    ("sandbox", "update", NX),
    ("sandbox", "to-sif", NX, "out.sif"),
    ("sandbox", "ps1", NX),
    ("sandbox", "list", NX),
    ("sandbox", "switch", "1", NX),
    ("sandbox", "rollback", NX),
    ("sandbox", "cleanup", NX),
    ("session", "start", f"{NX}.sif", "-p", "."),
    ("docker", "status", "--project-dir", NX),
]


@pytest.mark.parametrize("args", MISSING, ids=lambda a: " ".join(a))
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_a_missing_path_is_exit_2_naming_it(
    sx, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args, as_json
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "EXISTS").write_text("x\n")
    (tmp_path / "sub").mkdir()
    missing = next(a for a in args if NX in a)
    ran = sx(*(["--json"] if as_json else []), *args)
    assert ran.code == 2
    assert f"{missing}: does not exist" in ran.err
    if as_json:
        data = ran.json()
        assert data["exit_code"] == 2 and f"{missing}: does not exist" in data["error"]
    else:
        assert ran.out == ""


def test_a_dangling_active_link_is_not_a_missing_path(sx, tmp_path: Path) -> None:
    """STORE may be its active link; a dangling one is the store's problem, not a typo."""
    os.symlink("scitex-v9.sif", tmp_path / "current.sif")
    ran = sx("--json", "versions", tmp_path / "current.sif")
    assert not ran.err.startswith("error")  # not refused as a missing path
    assert "warning:" in ran.err and "switch VERSION" in ran.err  # the store reports its link
    assert ran.code == 0 and ran.json() == []


def test_sudo_is_defined_once() -> None:
    src = Path(__file__).resolve().parents[2] / "src" / "scitex_container" / "cli"
    hits = [p for p in src.rglob("*.py") if '"--sudo"' in p.read_text()]
    assert [p.name for p in hits] == ["options.py"]
