from __future__ import annotations

import os
from pathlib import Path

import pytest

from scitex_container.files import fsutil


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "f.txt"
    fsutil.atomic_write_text(target, "one")
    fsutil.atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert sorted(p.name for p in target.parent.iterdir()) == ["f.txt"]


def test_atomic_write_failure_keeps_old_content(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "f.txt"
    target.write_text("old")

    def boom(*_a, **_k):
        raise OSError("disk full")

    monkeypatch.setattr(fsutil.os, "replace", boom)
    with pytest.raises(OSError):
        fsutil.atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]


def test_only_a_non_durable_write_skips_the_fsyncs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(fsutil.os, "fsync", lambda fd: synced.append(fd) or real(fd))
    fsutil.atomic_write_text(tmp_path / "kept.json", "{}")
    assert len(synced) == 2  # the file, then its directory
    synced.clear()
    fsutil.atomic_write_text(tmp_path / "cache.json", "{}", durable=False)
    fsutil.atomic_write_text(tmp_path / "cache.json", "[]", durable=False)
    assert synced == []
    assert (tmp_path / "cache.json").read_text() == "[]"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache.json", "kept.json"]


def test_the_digest_cache_is_saved_without_fsync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from scitex_container.files.digests import DigestCache

    synced: list[int] = []
    monkeypatch.setattr(fsutil.os, "fsync", synced.append)
    data = tmp_path / "data.bin"
    data.write_bytes(b"x" * 100)
    os.utime(data, (1_700_000_000, 1_700_000_000))
    cache = DigestCache(tmp_path / "cache.json")
    st = os.stat(data)
    cache.remember(data, st, "abc", started_ns=st.st_ctime_ns + 10**9)
    cache.save()
    assert synced == []
    assert DigestCache(tmp_path / "cache.json").lookup(data, st) == "abc"


def test_atomic_symlink_switches_target(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("a")
    (tmp_path / "b").write_text("b")
    link = tmp_path / "current"
    fsutil.atomic_symlink("a", link)
    assert os.readlink(link) == "a"
    fsutil.atomic_symlink("b", link)
    assert os.readlink(link) == "b" and link.read_text() == "b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "current"]


def test_sha256_matches_hashlib(tmp_path: Path) -> None:
    import hashlib

    data = os.urandom(5 * 1024 * 1024 + 3)
    f = tmp_path / "blob"
    f.write_bytes(data)
    assert fsutil.sha256_file(f) == hashlib.sha256(data).hexdigest()


def test_text_read_with_surrogateescape_is_written_back_byte_for_byte(tmp_path: Path) -> None:
    raw = b"%labels\n    Author Ren\xe9\n%post\n    echo caf\xe9 \xff\n"
    target = tmp_path / "latin.def"
    fsutil.atomic_write_text(target, raw.decode("utf-8", "surrogateescape"))
    assert target.read_bytes() == raw
