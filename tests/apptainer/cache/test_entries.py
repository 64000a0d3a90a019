"""The stage cache directory: trust, atomic entries, digest checks, LRU eviction, prune, sweep.

These tests are about our own bookkeeping, so an entry's root fs is a small
directory made here; the real builds are in test_staged_build.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from stagekit import add as add_stage
from stagekit import key

from scitex_container.apptainer.cache.entries import StageCache, parse_age
from scitex_container.errors import BadInputError, UntrustedStateError
from scitex_container.files import temporaries


def add(cache: StageCache, n: int, size: int = 10, network: bool = False):
    return add_stage(cache, n, size, network, link=True)


def test_an_entry_is_published_whole_and_found_by_its_key(tmp_path: Path) -> None:
    cache = StageCache(tmp_path / "c").open()
    entry = add(cache, 1)
    assert cache.lookup(key(1)).entry == entry
    assert entry.size == 10 and not list((tmp_path / "c" / "tmp").iterdir())
    assert oct((tmp_path / "c").stat().st_mode & 0o777) == "0o700"
    assert cache.lookup(key(2)).why == "missing"
    # none of the cache's own temporaries is still registered (others' may be: it is global)
    assert [p for p in temporaries.pending() if tmp_path in p.parents] == []


@pytest.mark.parametrize(
    "damage",
    [
        lambda e: (e.rootfs / "etc" / "data").write_bytes(b"y" * 10),  # same size, other bytes
        lambda e: (e.rootfs / "etc" / "link").unlink(),
        lambda e: os.symlink("elsewhere", e.rootfs / "new"),
        lambda e: (e.path / "entry.json").write_text("{"),
    ],
)
def test_a_corrupt_entry_is_reported_removed_and_never_used(tmp_path: Path, damage) -> None:
    cache = StageCache(tmp_path / "c").open()
    entry = add(cache, 1)
    damage(entry)
    found = cache.lookup(key(1))
    assert found.entry is None and found.why.startswith("corrupt")
    assert not entry.path.exists()
    assert cache.lookup(key(1)).why == "missing"


def test_a_cache_writable_by_others_or_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "c"
    StageCache(root).open()
    os.chmod(root, 0o777)
    with pytest.raises(UntrustedStateError, match="writable by other users") as info:
        StageCache(root).open()
    assert str(root) in str(info.value) and info.value.exit_code == 2
    os.chmod(root, 0o700)
    if os.getuid() == 0:
        os.chown(root / "entries", 65534, 65534)
        with pytest.raises(UntrustedStateError, match="owned by another user"):
            StageCache(root).open()


def test_network_entries_expire_local_ones_do_not(tmp_path: Path) -> None:
    cache = StageCache(tmp_path / "c").open()
    add(cache, 1, network=True)
    add(cache, 2, network=False)
    assert cache.lookup(key(1), max_age=-1).why == "expired"  # any age is above -1 s
    assert cache.lookup(key(1), max_age=3600).why == "hit"
    assert cache.lookup(key(2), max_age=-1).why == "hit"
    made = cache.lookup(key(1)).entry.made
    fresh = add(cache, 1, network=True)  # rebuilt after it expired: the new one replaces it
    assert fresh.made > made and cache.lookup(key(1)).entry == fresh


def test_the_least_recently_used_entries_go_first_past_the_size_cap(tmp_path: Path) -> None:
    cache = StageCache(tmp_path / "c", max_bytes=250).open()
    for n in (1, 2):
        add(cache, n, size=100)
    old = time.time() - 100
    os.utime(cache.entries_dir / key(2) / "used", (old, old))  # 2 is now least recently used
    add(cache, 3, size=100)
    assert {e.key for e in cache.entries()} == {key(1), key(3)}


def test_prune_older_than_and_all(tmp_path: Path) -> None:
    cache = StageCache(tmp_path / "c").open()
    for n in (1, 2):
        add(cache, n)
    old = time.time() - 3 * 86400
    os.utime(cache.entries_dir / key(1) / "used", (old, old))
    assert [e.key for e in cache.prune(older_than=parse_age("2d"))] == [key(1)]
    assert [e.key for e in cache.prune(everything=True)] == [key(2)]
    assert cache.entries() == []


def test_an_entry_a_killed_build_was_making_is_swept_never_read(tmp_path: Path) -> None:
    cache = StageCache(tmp_path / "c").open()
    code = (
        "import os, sys; from scitex_container.apptainer.cache.entries import StageCache;"
        f"w = StageCache({str(tmp_path / 'c')!r}).making({key(7)!r});"
        "(w / 'rootfs').mkdir(); (w / 'rootfs' / 'half').write_text('x');"
        "os.kill(os.getpid(), 9)"
    )
    subprocess.run([sys.executable, "-c", code], check=False)
    assert len(list(cache.tmp_dir.iterdir())) == 1
    assert cache.lookup(key(7)).why == "missing"
    assert len(StageCache(tmp_path / "c").open().sweep()) == 0  # open() swept it already
    assert list(cache.tmp_dir.iterdir()) == []


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("30m", 1800), ("7d", 604800)])
def test_ages(text: str, seconds: float) -> None:
    assert parse_age(text) == seconds


def test_a_bad_age_or_a_path_with_spaces_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="--cache-max-age"):
        parse_age("3x")
    with pytest.raises(BadInputError, match="whitespace"):
        StageCache(tmp_path / "a b")


def test_an_entry_with_an_unreadable_record_is_listed_pruned_and_counted(tmp_path: Path) -> None:
    cache = StageCache(tmp_path / "c").open()
    for n in (1, 2):
        add(cache, n)
    (cache.entries_dir / key(1) / "entry.json").write_text("{not json")
    old = time.time() - 3 * 86400
    os.utime(cache.entries_dir / key(1), (old, old))
    listed = {e.key: e for e in cache.entries()}  # hidden before
    assert listed[key(1)].stage.startswith("unreadable record")
    assert [e.key for e in cache.prune(older_than=parse_age("2d"), dry_run=True)] == [key(1)]
    assert (cache.entries_dir / key(1)).exists()  # a dry run changes nothing
    assert [e.key for e in cache.prune(older_than=parse_age("2d"))] == [key(1)]  # never before
    assert [e.key for e in cache.entries()] == [key(2)]


def test_prune_dry_run_is_accepted_after_the_name_and_leaves_a_dead_builds_leftover(
    sx, tmp_path: Path
) -> None:
    cache = StageCache(tmp_path / "c").open()
    add(cache, 1)
    leftover = cache.tmp_dir / f".{key(9)}.999999999.1.making"  # no such pid
    leftover.mkdir()
    would = sx("--json", "cache", "prune", "--all", "--dry-run", "--cache-dir", tmp_path / "c")
    assert would.code == 1, would.err  # "No such option: --dry-run" before
    assert would.json()["dry_run"] is True  # the one dry-run shape: the real run's keys in "result"
    assert would.json()["result"]["removed"] == [key(1)]
    assert leftover.exists() and (cache.entries_dir / key(1)).exists()  # it swept it before
    done = sx("--json", "cache", "prune", "--all", "--cache-dir", tmp_path / "c")
    assert done.code == 0 and done.json()["removed"] == [key(1)] and not leftover.exists()


def test_a_cache_opened_in_another_pid_namespace_leaves_a_live_builds_entry(
    tmp_path: Path,
) -> None:
    import shutil

    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("a new PID namespace needs root and unshare")
    cache = StageCache(tmp_path / "c").open()
    live = cache.making(key(3))  # ours: this process is alive
    old = cache.tmp_dir / f".{key(4)}.999999999.1.making"  # a pre-tag name of a dead pid
    old.mkdir()
    code = (
        "import sys; from scitex_container.apptainer.cache.entries import StageCache;"
        "StageCache(sys.argv[1]).open()"
    )
    argv = ["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-c", code]
    done = subprocess.run([*argv, str(tmp_path / "c")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert live.exists()  # our pid is not in its namespace: it was removed before
    assert not old.exists()  # names without the tag are still read (and swept)
    temporaries.remove(live)
