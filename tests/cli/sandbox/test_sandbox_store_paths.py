"""A directory of sandboxes is a store like any other: listed, rolled back, one naming scheme."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from clirun import cli


@pytest.mark.apptainer
def test_a_sandbox_directory_lists_and_rolls_back_with_utc_names(
    tmp_path: Path, busybox_sif: Path
) -> None:
    sbx = tmp_path / "sbx"
    old = sbx / "sandbox-20200101_000000"  # the reference's local-time name
    (old / ".singularity.d").mkdir(parents=True)
    made = []
    for _ in range(2):
        out = cli("--json", "sandbox", "create", busybox_sif, "-d", sbx)
        assert out.returncode == 0, out.stderr
        made.append(Path(json.loads(out.stdout)["path"]).name)
    assert all(re.fullmatch(r"sandbox-\d{8}T\d{6}Z(-\d+)?", n) for n in made), made
    rows = json.loads(cli("--json", "versions", sbx).stdout)
    by_link = json.loads(cli("--json", "versions", sbx / "current-sandbox").stdout)
    assert rows == by_link
    assert [Path(r["path"]).name for r in rows] == [*made[::-1], old.name]
    dry = cli("--dry-run", "rollback", sbx)
    assert dry.returncode == 1 and "name the image's own directory" not in dry.stderr
    assert cli("rollback", sbx).returncode == 0
    assert os.readlink(sbx / "current-sandbox") == made[0]
