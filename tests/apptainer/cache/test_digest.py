"""The entry digest covers what a stage's tree is: directory owners and modes, extended
attributes (file capabilities), file contents; and it refuses a tree it cannot read whole."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scitex_container.apptainer.cache.digest import rootfs_digest


def _tree(tmp_path: Path) -> Path:
    root = tmp_path / "rootfs"
    (root / "opt" / "d").mkdir(parents=True)
    (root / "opt" / "d" / "f").write_text("x")
    return root


def test_a_directory_owner_or_an_xattr_changes_the_digest(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    first, size = rootfs_digest(root)
    assert size == 1 and rootfs_digest(root)[0] == first
    if os.geteuid() != 0:
        pytest.skip("changing an owner needs root")
    os.chown(root / "opt" / "d", 42, 42)  # a directory's owner alone (was left out before)
    owned = rootfs_digest(root)[0]
    assert owned != first
    try:
        os.setxattr(root / "opt" / "d" / "f", "user.scitex", b"1")
    except OSError:
        pytest.skip("this file system takes no user xattrs")
    assert rootfs_digest(root)[0] != owned


def test_a_directory_that_cannot_be_listed_is_not_skipped(tmp_path: Path) -> None:
    root = _tree(tmp_path)
    os.chmod(root / "opt" / "d", 0)
    try:
        if os.access(root / "opt" / "d", os.R_OK):
            pytest.skip("root reads it anyway")
        with pytest.raises(PermissionError):
            rootfs_digest(root)
    finally:
        os.chmod(root / "opt" / "d", 0o755)
