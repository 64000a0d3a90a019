"""`snapshot --dry-run`: printing changes nothing (exit 0); a file to write is pending (exit 1)."""

from __future__ import annotations

import json
from pathlib import Path


def test_dry_run_snapshot_exit_codes(sx, tmp_path: Path) -> None:
    printed = sx("--dry-run", "snapshot")
    assert printed.code == 0 and json.loads(printed.out)["schema_version"] == "1.0"
    target = tmp_path / "snap.json"
    assert sx("--dry-run", "snapshot", "-o", target).code == 1 and not target.exists()
