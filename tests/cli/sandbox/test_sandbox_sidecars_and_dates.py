"""A sandbox store opened from a version's sidecar; its listing dates the versions themselves."""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import pytest
from clirun import cli


def _two_sandboxes(sbx: Path, source: Path) -> list[Path]:
    made = []
    for _ in range(2):
        out = cli("--json", "sandbox", "create", source, "-d", sbx)
        assert out.returncode == 0, out.stderr
        made.append(Path(json.loads(out.stdout)["path"]))
    return made


@pytest.mark.apptainer
def test_sandbox_cleanup_takes_a_sidecar_as_its_store(tmp_path: Path, busybox_sif: Path) -> None:
    """`cleanup X.meta.json` opens the version's store; `sandbox cleanup` does the same."""
    sbx = tmp_path / "sbx"
    old, new = _two_sandboxes(sbx, busybox_sif)
    log = Path(f"{new}.build.log")
    meta = Path(f"{old}.meta.json")
    assert log.is_file() and meta.is_file()
    dry = cli("--dry-run", "sandbox", "cleanup", "-k", "1", log)
    assert dry.returncode == 1, dry.stderr
    assert f"would remove {old}" in dry.stdout and "is a sidecar of version" in dry.stderr
    for args in (("sandbox", "list", meta), ("sandbox", "rollback", "--dry-run", meta)):
        assert cli(*args).returncode in (0, 1), args
    real = cli("sandbox", "cleanup", "-k", "1", meta)
    assert real.returncode == 0, real.stderr
    assert not old.exists() and not meta.exists() and new.is_dir()
    assert os.readlink(sbx / "current-sandbox") == new.name


@pytest.mark.apptainer
def test_sandbox_list_dates_each_version_by_its_own_creation(
    tmp_path: Path, busybox_sif: Path
) -> None:
    """Not by the directory's mtime, which apptainer copies from the source image."""
    sbx = tmp_path / "sbx"
    made = _two_sandboxes(sbx, busybox_sif)
    legacy = sbx / "sandbox-20200101_000000"  # the seed's name (local time), no record
    (legacy / ".singularity.d").mkdir(parents=True)
    for path in (*made, legacy):
        os.utime(path, (631152000, 631152000))  # 1990: what a source's mtime looks like
    rows = {r["path"]: r for r in json.loads(cli("--json", "sandbox", "list", sbx).stdout)}
    for path in made:
        record = json.loads(Path(f"{path}.meta.json").read_text())
        start = datetime.fromisoformat(record["build_start"]).timestamp()
        made_at = datetime.fromtimestamp(start + record["build_duration"])
        assert rows[str(path)]["date"] == made_at.strftime("%Y-%m-%d %H:%M"), rows
    assert rows[str(legacy)]["date"] == "2020-01-01 00:00", rows
    text = cli("sandbox", "list", sbx).stdout
    assert "1990-" not in text, text
