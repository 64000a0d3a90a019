"""`cache list` and `cache prune --dry-run` read only: a cache directory that does not
exist, exists empty, or holds entries without `tmp/` and `.lock` stays byte-identical."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from scitex_container.apptainer.cache.entries import StageCache


def snapshot(root: Path) -> list[tuple]:
    """Every path under ``root`` (itself included) with its kind, mode, owner, size, mtime."""
    if not os.path.lexists(root):
        return []
    out = []
    for dirpath, dirs, files in os.walk(root):
        for name in [".", *sorted(dirs), *sorted(files)]:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            rel = os.path.relpath(path, root)
            out.append((rel, st.st_mode, st.st_uid, st.st_size, st.st_mtime_ns))
    return sorted(out)


def _with_entry_only(root: Path) -> None:
    cache = StageCache(root).open()
    work = cache.making("a" * 64)
    (work / "rootfs").mkdir()
    (work / "rootfs" / "f").write_text("x")
    cache.publish(work, "a" * 64, "post-1", False)
    (root / "tmp").rmdir()
    (root / ".lock").unlink(missing_ok=True)


@pytest.mark.parametrize("state", ["missing", "empty", "entries only"])
def test_list_and_a_dry_run_prune_create_nothing(sx, tmp_path: Path, state: str) -> None:
    root = tmp_path / "stages"
    if state == "empty":
        root.mkdir(mode=0o700)
    elif state == "entries only":
        _with_entry_only(root)
    before = snapshot(root)
    parent = sorted(os.listdir(tmp_path))
    listed = sx("--json", "cache", "list", "--cache-dir", root)
    assert listed.code == 0, listed.err
    assert len(listed.json()) == (1 if state == "entries only" else 0)
    for how in (["--all"], ["--older-than", "0"]):
        would = sx("--json", "--dry-run", "cache", "prune", *how, "--cache-dir", root)
        assert would.code in (0, 1), would.err
        removed = would.json()["result"]["removed"] if would.code == 1 else []
        assert removed == (["a" * 64] if state == "entries only" else [])
    assert snapshot(root) == before
    assert sorted(os.listdir(tmp_path)) == parent
