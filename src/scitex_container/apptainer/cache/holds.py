"""Holds on stage cache entries while a build may copy from them.

A build holds a shared ``flock`` on an entry's ``used`` file (opened without following a
link, never a terminal) from the moment it looks the entry up until it ends: apptainer's
``localimage`` copy of ``entries/<key>/rootfs`` only logs the files that vanish under it,
so an entry removed mid-copy would give a truncated image built "from the cache".
Removal (``prune``, eviction, a corrupt entry's replacement) first takes an exclusive
hold without waiting; an entry a build holds is left in place, said "in use by a running
build".  ``flock`` conflicts between two descriptors of one process too, so a process
releases its own hold before it removes the entry itself.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

#: what a removal says of an entry a build holds
IN_USE = "in use by a running build, left in place"

_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NOCTTY | os.O_CLOEXEC | os.O_NONBLOCK


def open_used(entry: Path, *, create: bool = True) -> int:
    """A descriptor of ``entry/used`` (made 0600 when missing and ``create``); a link is
    never followed (ELOOP), and anything but a regular file is refused (EINVAL)."""
    fd = os.open(entry / "used", _FLAGS | (os.O_CREAT if create else 0), 0o600)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file", os.fspath(entry / "used"))
    return fd


def hold(entry: Path) -> int | None:
    """A shared hold on ``entry`` (its descriptor: close it to release), or None when a
    removal holds it, it is gone, or its ``used`` is not a plain file of its own."""
    try:
        fd = open_used(entry)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        held, there = os.fstat(fd), os.lstat(entry / "used")
        if (held.st_dev, held.st_ino) != (there.st_dev, there.st_ino):
            raise OSError(errno.ESTALE, "renamed away while taking the hold")
    except OSError:
        os.close(fd)
        return None
    return fd


@contextlib.contextmanager
def exclusive(entry: Path, *, create: bool = True) -> Iterator[None]:
    """Hold ``entry`` exclusively while removing it; BlockingIOError (:data:`IN_USE`) when a
    build holds it.  An entry whose ``used`` cannot be opened (missing directory, a link:
    never held by a build, see :func:`hold`) is removed without it."""
    try:
        fd = open_used(entry, create=create)
    except OSError:
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BlockingIOError(errno.EWOULDBLOCK, IN_USE, os.fspath(entry)) from None
        yield
    finally:
        os.close(fd)


def in_use(entry: Path) -> bool:
    """Does a build hold ``entry`` now?"""
    try:
        with exclusive(entry, create=False):  # a dry run makes nothing
            return False
    except BlockingIOError:
        return True


class Holding:
    """The holds one cache object (one build) has: a mixin of
    :class:`~.entries.StageCache`."""

    _holds: dict[str, int]  #: key -> descriptor of the shared hold on it

    @property
    def entries_dir(self) -> Path:
        raise NotImplementedError

    def hold(self, key: str) -> bool:
        """Hold ``key`` for this build; False when it cannot be held (being removed)."""
        if key not in self._holds:
            fd = hold(self.entries_dir / key)
            if fd is None:
                return False
            self._holds[key] = fd
        return True

    def release(self, key: str | None = None) -> None:
        """Release the hold on ``key`` (None: every hold of this cache object)."""
        for held in [key] if key is not None else list(self._holds):
            fd = self._holds.pop(held, None)
            if fd is not None:
                os.close(fd)

    def touch(self, entry: Any) -> None:
        """Mark ``entry`` used now, through the held descriptor (never a link's target)."""
        fd = self._holds.get(entry.key)
        if fd is not None:
            with contextlib.suppress(OSError):
                os.utime(fd)
