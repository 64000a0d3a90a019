"""`build --dry-run`: exit 1 while a build is pending, 0 once the image is up to date."""

from __future__ import annotations

from pathlib import Path

import pytest
from images import BUSYBOX_DEF


@pytest.mark.apptainer
def test_dry_run_exit_code_follows_the_pending_build(sx, tmp_path: Path, busybox_sif) -> None:
    definition = tmp_path / "bb.def"
    definition.write_text(BUSYBOX_DEF)
    pending = sx("--json", "--dry-run", "build", definition)
    assert pending.code == 1, pending.err
    assert any(" build " in c for c in pending.json()["dry_run_commands"])
    assert not (tmp_path / "bb").exists()
    assert sx("build", definition).code == 0
    clean = sx("--json", "--dry-run", "build", definition)
    assert clean.code == 0, clean.err
    assert clean.json()["dry_run_commands"] == []
