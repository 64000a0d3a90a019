"""A full disk while an artifact is stored in the archive names the artifact, not our temporary."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from tmpfs import fill, mounted_tmpfs

from scitex_container.apptainer.lock.archive_store import ArchiveStore
from scitex_container.errors import DiskFullError


def test_a_full_disk_names_the_blob_and_leaves_no_temporary(tmp_path: Path) -> None:
    source = tmp_path / "big.deb"
    source.write_bytes(os.urandom(512 * 1024))
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    with mounted_tmpfs(tmp_path / "small", "4m") as point:
        fill(point, 128 * 1024, exact=True)  # less than the artifact
        store = ArchiveStore(point / "arc")
        with pytest.raises(DiskFullError) as caught:
            store.add_file(source, digest)
        blob = store.blob(digest)
        assert str(caught.value) == f"{blob}: no space left on device"
        left = [p for p in (point / "arc").rglob("*") if p.is_file()]
        assert all(p.name.endswith(".lock") or p.name == "index.json" for p in left), left
