"""`lock archive --dry-run` says what the real run writes, even with nothing to fetch."""

from __future__ import annotations

import json
from pathlib import Path

from clirun import cli
from dryrun import tree

from scitex_container.apptainer.lock.lockfile import Lock, write_lock


def test_an_archive_of_nothing_to_fetch_is_predicted_then_made_then_unchanged(
    tmp_path: Path,
) -> None:
    lock = write_lock(Lock(), tmp_path / "empty.lock")
    archive = tmp_path / "archive"
    before = tree(tmp_path)
    dry = cli("--dry-run", "lock", "archive", lock, "-o", archive)
    assert dry.returncode == 1, dry.stdout + dry.stderr  # something would change
    assert tree(tmp_path) == before and not archive.exists()
    said = [line for line in dry.stdout.splitlines() if line.startswith("would ")]
    assert said[0].startswith("would fetch 0 artifacts")
    planned = [
        str(p)
        for p in json.loads(cli("--json", "--dry-run", *dry.args[3:]).stdout)["result"]["writes"]
    ]
    assert said[1:] == [
        f"would create {archive}",
        f"would write {archive / 'index.json'}",
        f"would write {lock}",  # it gains the archive's header line
    ]
    assert planned == [str(archive), str(archive / "index.json"), str(lock)]
    real = cli("--json", "lock", "archive", lock, "-o", archive)
    assert real.returncode == 0, real.stderr
    assert json.loads(real.stdout)["writes"] == planned  # exactly what the dry run said
    after = tree(tmp_path)
    made = {k for k in after if k not in before or after[k] != before[k]}
    assert {"archive", "archive/index.json", "empty.lock"} <= made
    assert made - {"archive", "archive/index.json", "empty.lock"} <= {"archive/.index.lock"}
    # now nothing would change: the dry run says so (exit 0), the real run writes nothing
    again = cli("--json", "--dry-run", "lock", "archive", lock, "-o", archive)
    assert again.returncode == 0 and json.loads(again.stdout)["result"]["writes"] == []
    real = cli("--json", "lock", "archive", lock, "-o", archive)
    assert real.returncode == 0 and json.loads(real.stdout)["writes"] == []
    assert tree(tmp_path) == after
