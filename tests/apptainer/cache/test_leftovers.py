"""Leftovers of killed builds in another PID namespace: listed with their size, counted
against the size cap, removed by `cache prune` when ours and their namespace is not live
on this host (or, when it is, once older than a day); a build's own sweep waits a day;
another user's leftover is never removed."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import time
from pathlib import Path

import pytest
from stagekit import key

from scitex_container.apptainer.cache.entries import StageCache
from scitex_container.apptainer.cache.leftovers import LIVE_BOUND, OTHER_GONE, OTHER_LIVE
from scitex_container.files import temporaries

GONE_TAG = "0123456789ab"  # no PID namespace of this host hashes to it
DAY = 86400.0


def leftover(cache: StageCache, n: int, tag: str, size: int, days: float = 0.0) -> Path:
    """What a build killed in the namespace ``tag`` leaves: its entry-in-making, named as
    :meth:`StageCache.making` names it there."""
    path = cache.tmp_dir / f".{key(n)}.4242.{time.time_ns()}-{tag}.making"
    (path / "rootfs" / "etc").mkdir(parents=True)
    (path / "rootfs" / "etc" / "data").write_bytes(b"x" * size)
    if days:
        when = time.time() - days * DAY
        for part in (path / "rootfs" / "etc", path / "rootfs", path):
            os.utime(part, (when, when))
    return path


def add(cache: StageCache, n: int, size: int) -> None:
    work = cache.making(key(n))
    (work / "rootfs").mkdir()
    (work / "rootfs" / "data").write_bytes(b"y" * size)
    cache.publish(work, key(n), f"post-{n}", False)


def test_a_gone_namespaces_leftover_is_listed_counted_and_pruned(sx, tmp_path: Path) -> None:
    cache = StageCache(tmp_path / "c").open()
    fresh = leftover(cache, 1, GONE_TAG, 1000)
    old = leftover(cache, 2, GONE_TAG, 10, days=3)
    listed = sx("--json", "cache", "list", "--cache-dir", cache.root).json()
    rows = {r["path"]: r for r in listed if r["kind"] == "leftover"}
    assert rows[str(fresh)]["size_bytes"] == 1000 and rows[str(fresh)]["removable"]
    assert rows[str(fresh)]["stage"] == f"leftover ({OTHER_GONE})"
    assert rows[str(old)]["age_seconds"] > 2.9 * DAY
    assert cache.size() == 1010
    # a build's sweep removes another namespace's leftover only past a day: it may be a
    # live build of another host sharing this cache
    assert StageCache(cache.root).open().sweep() == [] and fresh.exists()
    assert not old.exists()  # open() swept it: ours and older than the bound
    # counted against the cap: an entry that would fit alone is evicted
    small = StageCache(cache.root, max_bytes=1500).open()
    add(small, 3, 400)
    add(small, 4, 400)
    assert [e.key for e in small.entries()] == [key(4)]
    pruned = sx("--json", "cache", "prune", "--older-than", "1d", "--cache-dir", cache.root)
    assert pruned.json()["leftovers"] == [] and fresh.exists()  # younger than a day
    pruned = sx("--json", "cache", "prune", "--all", "--cache-dir", cache.root)
    assert pruned.json()["leftovers"] == [str(fresh)] and pruned.json()["freed_size_bytes"] == 1400
    assert not fresh.exists() and cache.size() == 0


def test_a_live_namespaces_leftover_is_kept_until_a_day_old(tmp_path: Path) -> None:
    cache = StageCache(tmp_path / "c").open()
    code = (
        "import sys\nfrom scitex_container.files.temporaries import namespace_tag\n"
        "print(namespace_tag(), flush=True)\nsys.stdin.read()\n"
    )
    argv = ["unshare", "--pid", "--fork", sys.executable, "-c", code]
    if os.getuid() != 0:
        argv[1:1] = ["--user", "--map-root-user"]
    with subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as ns:
        assert ns.stdout is not None and ns.stdin is not None
        tag = ns.stdout.readline().strip()
        assert len(tag) == 12 and tag != temporaries.namespace_tag()
        path = leftover(cache, 1, tag, 10)
        assert [x.state for x in cache.leftovers()] == [OTHER_LIVE]
        assert cache.prune_leftovers(everything=True) == [] and path.exists()
        when = time.time() - LIVE_BOUND - 60
        os.utime(path / "rootfs", (when, when))
        os.utime(path, (when, when))
        assert [x.path for x in cache.prune_leftovers(everything=True)] == [path]
        assert not path.exists()
        ns.stdin.close()


@pytest.mark.skipif(os.getuid() != 0, reason="chown to another user needs root")
def test_another_users_leftover_is_listed_and_never_removed(tmp_path: Path) -> None:
    other = pwd.getpwnam("scitex-test")
    cache = StageCache(tmp_path / "c").open()
    path = leftover(cache, 1, GONE_TAG, 10, days=3)
    os.chown(path, other.pw_uid, other.pw_gid)
    cache = StageCache(cache.root).open()  # the sweep leaves it
    (found,) = cache.leftovers()
    assert found.path == path and not found.removable() and found.size == 10
    assert cache.prune_leftovers(everything=True) == [] and path.exists()
