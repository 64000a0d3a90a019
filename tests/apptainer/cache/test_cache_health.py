"""A stage cache a careless operator or a co-user damaged stays healthy: a record that lies
is corrupt (never reused, never emitted as NaN), prune reports everything it removes the
same way dry or not, links inside the cache are never followed, a leftover whose pid is
alive again is bounded, a ``.lock`` link is named a link.  Crafted cache trees: these are
about our own bookkeeping (the real builds are in test_staged_build.py, test_holds.py)."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import pytest
from stagekit import add, key

from scitex_container.apptainer.cache.entries import StageCache
from scitex_container.apptainer.cache.leftovers import LIVE_BOUND
from scitex_container.errors import PathKindError


def strict(text: str):
    """JSON as a strict reader sees it: NaN and Infinity are not JSON."""
    return json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in JSON output"))


LIES = [
    ("made", math.nan, "NaN in its record"),
    ("made", math.inf, "Infinity in its record"),
    ("made", -5.0, "made is not a past time"),
    ("made", "FUTURE", "made is not a past time"),
    ("network_since", "FUTURE", "network_since is not a past time"),
    ("network_since", "RAW:1e400", "network_since is not a past time"),  # inf when parsed
    ("size", -1, "size is not a byte count"),
    ("size", 1 << 60, "size is not a byte count"),
    ("stage", "post-1\tfake\t0\t0\t0\tFalse\nkey\tforged", "stage is not a stage name"),
]


@pytest.mark.parametrize(("field", "value", "said"), LIES)
def test_a_record_that_lies_is_corrupt_reported_removed_and_never_emitted(
    sx, tmp_path: Path, field: str, value, said: str
) -> None:
    cache = StageCache(tmp_path / "c").open()
    entry = add(cache, 1, network=True)
    record = json.loads((entry.path / "entry.json").read_text())
    record[field] = time.time() + 30 * 86400 if value == "FUTURE" else value
    text = json.dumps(record)
    if isinstance(value, str) and value.startswith("RAW:"):
        text = text.replace(json.dumps(value), value[4:])
    (entry.path / "entry.json").write_text(text)
    listed = sx("--json", "cache", "list", "--cache-dir", tmp_path / "c")
    assert listed.code == 0, listed.err
    rows = strict(listed.out)
    assert len(rows) == 1 and rows[0]["stage"].startswith(f"unreadable record ({said}")
    assert rows[0]["size_bytes"] == 0 and "forged" not in listed.out
    text = sx("cache", "list", "--cache-dir", tmp_path / "c").out
    assert len(text.strip().splitlines()) == 2  # the header and one row: nothing forged
    found = cache.lookup(key(1), max_age=7 * 86400)
    assert found.entry is None and found.why.startswith("corrupt") and said in found.why
    assert not entry.path.exists() and any("corrupt (removed)" in n for n in cache.notes)


def test_prune_reports_the_dead_leftovers_it_sweeps_and_the_dry_run_lists_the_same(
    sx, tmp_path: Path
) -> None:
    cache = StageCache(tmp_path / "c").open()
    add(cache, 1)
    dead = cache.tmp_dir / f".{key(9)}.999999999.1.making"  # no such pid
    (dead / "rootfs").mkdir(parents=True)
    (dead / "rootfs" / "f").write_bytes(b"y" * 7)
    args = ("cache", "prune", "--older-than", "30d", "--cache-dir", tmp_path / "c")
    would = sx("--json", "--dry-run", *args)
    assert would.json()["result"] == {
        "removed": [], "leftovers": [str(dead)], "unremovable": [],
        "freed_size": "7.0 B", "freed_size_bytes": 7,
    }  # fmt: skip
    assert dead.exists()
    done = sx("--json", *args)
    assert done.json() == would.json()["result"] and not dead.exists()
    assert (cache.entries_dir / key(1)).exists()  # not old enough


def test_links_inside_the_cache_are_never_followed(sx, tmp_path: Path) -> None:
    cache = StageCache(tmp_path / "c", max_bytes=100).open()
    entry = add(cache, 1)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "big").write_bytes(b"z" * 1000)
    os.symlink(outside, cache.tmp_dir / f".{key(9)}.999999999.1.making")  # a leftover link
    rows = sx("--json", "cache", "list", "--cache-dir", tmp_path / "c").json()
    assert sum(r["size_bytes"] for r in rows) == 10  # not the 1000 bytes it points at
    assert cache.evict() == [] and entry.path.exists()  # nothing to evict: 10 <= 100
    # a `used` link: root never touches its target, and the entry is not trusted
    target = outside / "victim"
    target.write_text("keep")
    old = time.time() - 86400
    os.utime(target, (old, old))
    (entry.path / "used").unlink()
    os.symlink(target, entry.path / "used")
    found = cache.lookup(key(1))
    assert found.entry is None and found.why.startswith("untrusted") and "used" in found.why
    assert target.stat().st_mtime == old and target.read_text() == "keep"
    assert not entry.path.exists() and (outside / "big").exists()  # ours: removed, link only


def test_a_leftover_whose_pid_is_alive_again_is_counted_and_bounded(tmp_path: Path) -> None:
    cache = StageCache(tmp_path / "c").open()
    alive = cache.tmp_dir / f".{key(9)}.{os.getppid()}.1.making"  # a live pid, not a build
    (alive / "rootfs").mkdir(parents=True)
    (alive / "rootfs" / "f").write_bytes(b"y" * 5)
    (left,) = cache.leftovers()
    assert left.state == "building" and left.size == 5 and cache.size() == 5
    assert not left.removable() and cache.sweep() == []
    later = time.time() + LIVE_BOUND + 60
    assert left.removable(later) and left.sweepable(later)
    old = time.time() - LIVE_BOUND - 60
    os.utime(alive / "rootfs", (old, old))
    os.utime(alive, (old, old))
    assert cache.sweep() == [alive] and not alive.exists()


def test_a_lock_link_is_named_a_symbolic_link(sx, tmp_path: Path) -> None:
    cache = StageCache(tmp_path / "c").open()
    add(cache, 1)
    (cache.root / ".lock").unlink(missing_ok=True)
    os.symlink(tmp_path / "elsewhere", cache.root / ".lock")
    with pytest.raises(PathKindError, match=r"\.lock: is a symbolic link"):
        cache.prune(everything=True)
    done = sx("cache", "prune", "--all", "--cache-dir", tmp_path / "c")
    assert done.code == 2 and "is a symbolic link" in done.err and "loop" not in done.err
    assert not (tmp_path / "elsewhere").exists()
