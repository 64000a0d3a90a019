"""A stage cache entry: its record (``entry.json``: root fs digest, size, lock) and the
:class:`Entry` read back from it."""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass
from pathlib import Path

from scitex_container.apptainer.cache.digest import tree_scan
from scitex_container.result import Result

SCHEMA = 1
#: a stage's name as :mod:`.stages` makes it (``bootstrap``, ``post-1``, ``stage-NAME``, ...)
STAGE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+@:-]{0,127}\Z")
_KEY_RE = re.compile(r"[0-9a-f]{64}\Z")
_DIGEST_RE = re.compile(r"[0-9A-Za-z:._-]{1,200}\Z")
#: seconds a record's time may lie ahead of this clock (another host's, slightly off)
CLOCK_SLACK = 300.0
#: no entry is larger (1 PiB): a bigger ``size`` is a lie that would dodge the cap
MAX_SIZE = 1 << 50


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


def _time(raw: dict, field: str, now: float) -> float:
    value = raw.get(field)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{field} is not a number")
    if not math.isfinite(value) or value < 0 or value > now + CLOCK_SLACK:
        raise ValueError(f"{field} is not a past time ({value!r})")
    return float(value)


def checked(raw: object, key: str) -> dict:
    """``raw`` (a parsed ``entry.json``) when every field is what we write; ValueError
    naming the first field that is not (the entry is then corrupt: never reused)."""
    now = time.time()
    if not isinstance(raw, dict) or raw.get("schema") != SCHEMA:
        raise ValueError("not a stage cache record of this version")
    if raw.get("key") != key or not _KEY_RE.match(key):
        raise ValueError("its record does not name this key")
    stage = raw.get("stage")
    if not isinstance(stage, str) or not STAGE_RE.match(stage):
        raise ValueError("stage is not a stage name")
    if not isinstance(raw.get("network"), bool):
        raise ValueError("network is not true or false")
    size = raw.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_SIZE:
        raise ValueError(f"size is not a byte count ({size!r})")
    digest = raw.get("digest")
    if not isinstance(digest, str) or not _DIGEST_RE.match(digest):
        raise ValueError("digest is not a digest")
    made = _time(raw, "made", now)
    if raw.get("network_since") is not None and _time(raw, "network_since", now) > made:
        raise ValueError("network_since is after made")
    return raw


def _no_constant(name: str) -> float:
    raise ValueError(f"{name} in its record")


def parse_record(data: bytes, key: str) -> dict:
    """The record ``data`` (``entry.json``) of ``key``, :func:`checked`; NaN and infinity
    are refused while parsing (ValueError)."""
    return checked(json.loads(data, parse_constant=_no_constant), key)


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
