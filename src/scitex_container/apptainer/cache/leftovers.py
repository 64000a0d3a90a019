"""What killed builds left in a stage cache's ``tmp/``, and whose entries we may trust.

An entry being made is ``tmp/.<key>.<pid>.<time>-<tag>.making``, where ``<tag>`` names
the host and PID namespace of the build (:func:`~scitex_container.files.temporaries.
namespace_tag`).  A leftover of this namespace is judged by its pid (alive: a build in
progress; gone: removable).  One of another namespace cannot be: its pid means nothing
here.  Its namespace is *live on this host* when a process we can see is in it; then it
is removed only once older than :data:`LIVE_BOUND` (one day: a build in progress could
own it).  A tag no process here has (a namespace that is gone, or another host sharing
the file system) is removed by an explicit ``cache prune``, never by a build's own sweep
before :data:`LIVE_BOUND`.  Only what the caller owns is ever removed; another user's
leftover is listed, counted, and left in place.

:func:`untrusted` applies the project's ownership rule to an entry directory, its
``rootfs`` top and its ``entry.json``: one owned by another user or writable by others
is not reused.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from scitex_container.files import ownership, temporaries
from scitex_container.result import Result

#: ``.<key>.<pid>.<ns>.making`` (``<ns>``: ``<time>-<host and PID namespace tag>``; names
#: made before the tag existed, ``.<key>.<pid>.<time>.making``, are still read)
TMP_RE = re.compile(
    r"\.(?P<key>[0-9a-f]{64})\.(?P<pid>\d+)\.\d+(?:-(?P<ns>[0-9a-f]{12}))?\.making\Z"
)
#: Seconds after which a leftover of a namespace that may still be live is removed anyway.
LIVE_BOUND = 86400.0

#: ``state`` of a leftover
BUILDING = "building"  #: this namespace, its process alive
DEAD = "dead"  #: this namespace, its process gone
OTHER_LIVE = "other namespace, live here"  #: a namespace a process of this host is in
OTHER_GONE = "other namespace, not live here"  #: gone, or another host's


@dataclass(frozen=True)
class Leftover(Result):
    """An entry-in-making under ``tmp/``."""

    path: Path
    key: str
    pid: int
    state: str
    size: int  #: bytes of the files we could read in it
    mtime: float  #: the newest of its directory's and its root fs's mtimes
    owner: int  #: uid owning it

    @property
    def ours(self) -> bool:
        return self.owner == os.getuid()

    def age(self, now: float | None = None) -> float:
        return (now if now is not None else time.time()) - self.mtime

    def removable(self, now: float | None = None) -> bool:
        """May an explicit prune remove it?  Ours, and no build in progress owns it: one
        whose pid is alive (a build, or a process that reused the pid) or of a live
        namespace only past :data:`LIVE_BOUND`."""
        if not self.ours:
            return False
        return self.state not in (BUILDING, OTHER_LIVE) or self.age(now) > LIVE_BOUND

    def sweepable(self, now: float | None = None) -> bool:
        """May a build's own sweep remove it?  A dead one of this namespace; any other
        only past :data:`LIVE_BOUND` (another host's build, or a pid alive again)."""
        if not self.ours:
            return False
        return self.state == DEAD or self.age(now) > LIVE_BOUND


def live_tags() -> frozenset[str]:
    """The tags of every PID namespace of this host a process we can see is in."""
    seen: set[str] = set()
    with contextlib.suppress(OSError):
        for name in os.listdir("/proc"):
            if name.isdigit():
                with contextlib.suppress(OSError):
                    seen.add(os.readlink(f"/proc/{name}/ns/pid"))
    return frozenset(temporaries.namespace_tag(ns) for ns in seen)


def tree_size(path: Path) -> int:
    """Bytes of the regular files under ``path`` we can read the metadata of; a symbolic
    link (``path`` itself included) is never followed: it counts as nothing."""
    try:
        top = os.lstat(path)
    except OSError:
        return 0
    if not stat.S_ISDIR(top.st_mode):
        return top.st_size if stat.S_ISREG(top.st_mode) else 0
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                st = os.lstat(os.path.join(dirpath, name))
                if stat.S_ISREG(st.st_mode):
                    total += st.st_size
    return total


def scan(tmp_dir: Path, *, sizes: bool = True) -> list[Leftover]:
    """Every entry-in-making under ``tmp_dir``, oldest first (``sizes=False``: size 0)."""
    from scitex_container.apptainer.store.state import pid_alive

    here = temporaries.namespace_tag()
    live: frozenset[str] | None = None
    out: list[Leftover] = []
    try:
        names = os.listdir(tmp_dir)
    except FileNotFoundError:
        return []
    for name in names:
        match = TMP_RE.match(name)
        if match is None:
            continue
        path = tmp_dir / name
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue
        mtime = st.st_mtime
        with contextlib.suppress(OSError):
            mtime = max(mtime, os.lstat(path / "rootfs").st_mtime)
        pid, ns = int(match.group("pid")), match.group("ns")
        if ns in (None, here):
            state = BUILDING if pid_alive(pid) else DEAD
        else:
            live = live_tags() if live is None else live
            state = OTHER_LIVE if ns in live else OTHER_GONE
        size = tree_size(path) if sizes else 0
        out.append(Leftover(path, match.group("key"), pid, state, size, mtime, st.st_uid))
    return sorted(out, key=lambda x: (x.mtime, x.path.name))


def untrusted(path: Path) -> tuple[str, bool] | None:
    """Why the entry directory ``path`` is not trusted (its directory, its ``rootfs`` top,
    its ``entry.json`` or its ``used`` owned by another user, writable by others, a link, or
    not ours to look into), and whether all of
    those are ours (only then may we remove it); None when it is trusted."""
    whys: list[str] = []
    ours = True
    parts = ((path, True), (path / "rootfs", True), (path / "entry.json", False))
    for part, directory in (*parts, (path / "used", False)):
        try:
            st = os.lstat(part)
        except FileNotFoundError:
            continue  # a missing part makes it corrupt, not untrusted
        except PermissionError:  # another user's directory we cannot enter
            whys.append(f"{part} cannot be looked at (permission denied)")
            ours = False
            continue
        why = ownership.problem(st, directory=directory, allow_root=False)
        if why is not None:
            whys.append(f"{part} {why} ({ownership.describe(st)})")
        if st.st_uid != os.getuid():
            ours = False
    return ("; ".join(whys), ours) if whys else None
