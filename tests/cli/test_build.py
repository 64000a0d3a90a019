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


@pytest.mark.apptainer
def test_a_dry_run_refuses_a_foreign_file_at_the_link_as_the_build_does(
    tmp_path: Path, busybox_sif
) -> None:
    """A kept version to activate, but a file we did not write sits at the link path."""
    from clirun import cli as run
    from dryrun import fails_alike

    definition = tmp_path / "bb.def"
    definition.write_text(BUSYBOX_DEF)
    assert run("build", definition).returncode == 0
    link = tmp_path / "bb" / "bb.sif"
    version = link.resolve()
    link.unlink()
    link.write_text("someone else's file\n")
    error = fails_alike(tmp_path, ["build", definition])
    assert error["exit_code"] == 2 and str(link) in error["error"], error
    assert link.read_text() == "someone else's file\n" and version.is_file()
