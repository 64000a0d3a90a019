"""A stage cache entry: its record (``entry.json``: root fs digest, size, lock) and the
:class:`Entry` read back from it."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from scitex_container.apptainer.cache.digest import tree_scan
from scitex_container.result import Result

SCHEMA = 1


def stage_lock(rootfs: Path) -> dict | None:
    """The packages in a stage's root fs, read from their databases (None if it cannot)."""
    from scitex_container.apptainer.lock.capture_static import static_capture
    from scitex_container.errors import ScitexError

    try:
        found = static_capture(rootfs)
    except (ScitexError, OSError):
        return None
    return {"dpkg": found.dpkg, "pip": found.pip, "node": found.node, "apk": found.apk}


def entry_record(
    work: Path, key: str, stage: str, network: bool, since: float | None = None
) -> dict:
    """The record of the entry being made in ``work``: its root fs digest and size, and its
    lock read statically (``lock``: manager -> name -> version; None when unreadable).
    ``since``: when its oldest network-reaching ancestor (itself included) was made (None:
    now, if it reached the network).  ``xattrs``: whether any path holds an extended
    attribute (such a stage can be no base: :mod:`.digest`).  Only reads ``work``: it may
    run while the next stage is built from it."""
    digest, size, xattrs = tree_scan(work / "rootfs")
    made = time.time()
    return {
        "schema": SCHEMA,
        "key": key,
        "stage": stage,
        "made": made,
        "network": network,
        "network_since": (since if since is not None else made) if network else None,
        "size": size,
        "digest": digest,
        "xattrs": xattrs,
        "lock": stage_lock(work / "rootfs"),
    }


@dataclass(frozen=True)
class Entry(Result):
    """One cached stage."""

    key: str
    stage: str
    made: float  #: UNIX time it was made
    network: bool
    size: int
    digest: str
    used: float  #: UNIX time it was last reused (or made)
    path: Path  #: the entry's directory
    #: when its oldest network-reaching ancestor (itself included) was made: the age limit
    #: counts from there, so a stage built on an old network stage does not restart the clock
    network_since: float | None = None
    #: a path of its root fs holds an extended attribute, which a stage built on it loses
    xattrs: bool = False

    def network_age(self, now: float | None = None) -> float:
        since = self.network_since if self.network_since is not None else self.made
        return (now if now is not None else time.time()) - since

    @property
    def rootfs(self) -> Path:
        return self.path / "rootfs"

    def age(self, now: float | None = None) -> float:
        return (now if now is not None else time.time()) - self.made


@dataclass(frozen=True)
class Lookup(Result):
    """The outcome of looking a key up."""

    entry: Entry | None
    why: str  #: ``hit``, ``missing``, ``expired`` or ``corrupt: <reason>``
