"""Each entry is trusted only when it is ours and writable by no one else (the project's
ownership rule): one that is not is reported and never reused; it is removed and rebuilt
when it is all ours, left in place (and not replaced) when another user owns part of it."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest
from stagekit import key

from scitex_container.apptainer.building.versioned import build_version
from scitex_container.apptainer.cache.entries import StageCache

pytestmark = [pytest.mark.apptainer, pytest.mark.stage_cache]

RECIPE = """\
Bootstrap: localimage
From: {base}

%post
    echo one > /one
    # scitex: checkpoint
    echo {last} > /last
"""


def _build(where: Path, cache: StageCache, last: str):
    (where / "r.def").write_text(RECIPE.format(base=where / "base.sif", last=last))
    return build_version(
        def_path=where / "r.def", output_dir=where / "out", stage_cache=cache, force=True
    )


def add(cache: StageCache, n: int):
    work = cache.making(key(n))
    (work / "rootfs").mkdir()
    (work / "rootfs" / "data").write_bytes(b"x" * 10)
    return cache.publish(work, key(n), f"post-{n}", False)


def _runs(result) -> dict:
    return {s.name: s for s in result.stages}


@pytest.mark.skipif(os.getuid() != 0, reason="chown to another user needs root")
def test_an_entry_of_another_user_or_writable_by_others_is_never_reused(
    tmp_path: Path, busybox_sif: Path
) -> None:
    (tmp_path / "base.sif").symlink_to(busybox_sif)
    other = pwd.getpwnam("scitex-test")
    cache = StageCache(tmp_path / "cache")
    first = _runs(_build(tmp_path, cache, "a"))
    boot, post1 = (
        cache.entries_dir / first["bootstrap"].key,
        cache.entries_dir / first["post-1"].key,
    )

    # another user's entry: reported, not used, not removed, not replaced
    os.chown(post1, other.pw_uid, other.pw_gid)
    second = _build(tmp_path, cache, "b")
    runs = _runs(second)
    assert not runs["post-1"].reused and runs["post-1"].lookup.startswith("untrusted: ")
    assert "owned by another user" in runs["post-1"].lookup
    assert runs["post-1"].lookup.endswith("(left in place)")
    assert runs["bootstrap"].reused  # the deepest stage we trust
    assert post1.stat().st_uid == other.pw_uid and (post1 / "rootfs" / "one").exists()
    assert "not trusted" in (second.cache_note or "") and "not stored" in second.cache_note
    assert (tmp_path / "out").exists() and second.built

    # a root fs top writable by others, an entry directory writable by the group: ours, so
    # reported, removed and rebuilt
    os.chown(post1, 0, 0)
    assert cache.lookup(first["post-1"].key).why == "hit"  # trusted again
    os.chmod(post1 / "rootfs", 0o757)
    os.chmod(boot, 0o770)
    third = _runs(_build(tmp_path, cache, "c"))
    assert [s.lookup.split(":")[0] for s in third.values()] == [
        "untrusted",
        "untrusted",
        "missing",
        "not cached",
    ]
    assert "writable by other users" in third["post-1"].lookup
    assert third["bootstrap"].lookup.endswith("(removed)")
    assert not any(s.reused for s in third.values())
    for made in (third["bootstrap"].key, third["post-1"].key):  # rebuilt, stored, trusted
        assert cache.lookup(made).why == "hit"
        assert (cache.entries_dir / made).stat().st_mode & 0o022 == 0


@pytest.mark.skipif(os.getuid() != 0, reason="chown to another user needs root")
def test_prune_and_eviction_never_delete_another_users_entry(tmp_path: Path) -> None:
    other = pwd.getpwnam("scitex-test")
    cache = StageCache(tmp_path / "c").open()
    theirs = add(cache, 1)
    add(cache, 2)
    cache.max_bytes = 5  # both over the cap: eviction would remove both
    os.chown(theirs.rootfs, other.pw_uid, other.pw_gid)
    assert cache.lookup(key(1)).why.endswith("(left in place)")
    assert [e.key for e in cache.prune(everything=True)] == [key(2)]
    assert theirs.rootfs.exists() and any("another user's entry" in n for n in cache.notes)
    add(cache, 3)  # over the cap: eviction removes ours, never theirs
    assert [e.key for e in cache.evict()] == [key(3)]
    assert theirs.rootfs.exists() and [e.key for e in cache.entries()] == [key(1)]
