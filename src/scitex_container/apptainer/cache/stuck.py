"""What could not be removed from a stage cache, moved aside to ``unremovable/``.

``cache list`` lists it, the size cap counts it, ``cache prune --all`` tries again, and
the advice for removing it by hand fits who owns it: root's files need an administrator
(or root), a tree of the caller's sub-uids (a ``--fakeroot`` build's) needs the caller's
user namespace.
"""

from __future__ import annotations

import contextlib
import os
import shlex
from dataclasses import dataclass
from pathlib import Path

from scitex_container.apptainer.cache.leftovers import tree_size
from scitex_container.files import ownership, temporaries
from scitex_container.result import Result


@dataclass(frozen=True)
class Stuck(Result):
    """One thing under ``unremovable/``."""

    path: Path
    size: int
    mtime: float
    owner: int


def owners(path: Path, limit: int = 2000) -> set[int]:
    """The uids owning ``path`` and what is under it (at most ``limit`` paths looked at)."""
    seen: set[int] = set()
    with contextlib.suppress(OSError):
        seen.add(os.lstat(path).st_uid)
    count = 0
    for dirpath, dirs, files in os.walk(path):
        for name in (*dirs, *files):
            count += 1
            with contextlib.suppress(OSError):
                seen.add(os.lstat(os.path.join(dirpath, name)).st_uid)
            if count >= limit:
                return seen
    return seen


def advice(path: Path) -> str:
    """How to remove ``path`` by hand, for the caller and its owners."""
    quoted = shlex.quote(os.fspath(path))
    me = os.geteuid()
    if me == 0:
        return f"remove it with `rm -rf -- {quoted}` (check `lsattr` for immutable files)"
    foreign = sorted(owners(path) - {me})
    if 0 in foreign:
        return f"it holds files owned by root: ask an administrator to remove {quoted}"
    return (
        f"remove it with `unshare --map-auto --map-root-user rm -rf -- {quoted}`"
        + (f" (it holds files of {ownership.owner_name(foreign[0])})" if foreign else "")
        + " or ask an administrator"
    )


def scan(stuck_dir: Path, *, sizes: bool = True) -> list[Stuck]:
    """Everything under ``stuck_dir``, oldest first (a link is listed, never followed)."""
    out: list[Stuck] = []
    try:
        names = sorted(os.listdir(stuck_dir))
    except OSError:
        return []
    for name in names:
        path = stuck_dir / name
        with contextlib.suppress(OSError):
            st = os.lstat(path)
            size = tree_size(path) if sizes else 0
            out.append(Stuck(path, size, st.st_mtime, st.st_uid))
    return sorted(out, key=lambda x: (x.mtime, x.path.name))


def retry(stuck_dir: Path, *, dry_run: bool = False) -> tuple[list[Stuck], list[str]]:
    """Try again to remove what is under ``stuck_dir``: what went, and a note (with advice)
    for each that still cannot."""
    gone: list[Stuck] = []
    notes: list[str] = []
    for item in scan(stuck_dir):
        if dry_run:
            gone.append(item)
            continue
        try:
            temporaries.remove(item.path)
        except OSError as exc:
            notes.append(
                f"could not remove {item.path} ({exc.strerror or type(exc).__name__}): "
                + advice(item.path)
            )
            continue
        gone.append(item)
    return gone, notes
