"""Atomic file operations and content hashing.

Every file this package writes goes through here: a temporary file in the
same directory, fsync, ``os.replace``, then fsync of the directory, so a
reader sees the old content or the new, never a torn file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

CHUNK = 4 * 1024 * 1024


def fsync_dir(directory: str | os.PathLike) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_path(final: str | os.PathLike, suffix: str = ".tmp") -> Path:
    """A fresh, unused hidden name beside ``final`` (same filesystem)."""
    final = Path(final)
    fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=suffix, dir=final.parent)
    os.close(fd)
    os.unlink(name)
    return Path(name)


def atomic_write_bytes(
    path: str | os.PathLike,
    data: bytes,
    mode: int = 0o644,
    *,
    parents: bool = True,
    durable: bool = True,
) -> Path:
    """Write ``data`` to ``path`` atomically; ``parents=False`` never creates the
    directory (a directory removed meanwhile makes the write fail).

    ``durable=False`` skips both fsyncs: still never torn for a reader, but
    after a power loss the file may be old or empty.  Only for caches, whose
    loss costs speed, never correctness.
    """
    path = Path(path)
    if parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.filename is None:  # ENOSPC from write(): say where
            raise type(exc)(exc.errno, exc.strerror, os.fspath(path)) from exc
        raise
    if durable:
        fsync_dir(path.parent)
    return path


def atomic_write_text(
    path: str | os.PathLike,
    text: str,
    mode: int = 0o644,
    *,
    parents: bool = True,
    durable: bool = True,
) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"), mode, parents=parents, durable=durable)


def atomic_symlink(target: str | os.PathLike, link: str | os.PathLike) -> Path:
    """Point ``link`` at ``target`` atomically (temporary symlink renamed over it).

    If anything fails the old link is left exactly as it was.
    """
    link = Path(link)
    tmp = temp_path(link, suffix=".link")
    os.symlink(os.fspath(target), tmp)
    try:
        os.replace(tmp, link)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fsync_dir(link.parent)
    return link


def sha256_file(path: str | os.PathLike) -> str:
    with open(path, "rb", buffering=0) as fh:
        return sha256_stream(fh)


def sha256_stream(fh: BinaryIO) -> str:
    """sha256 of what is left to read in ``fh``, in CHUNK-sized reads."""
    h = hashlib.sha256()
    while chunk := fh.read(CHUNK):
        h.update(chunk)
    return h.hexdigest()


def remove_path(path: str | os.PathLike) -> None:
    """Remove a file, link or directory tree, even one with read-only dirs."""
    path = Path(path)
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
        return
    if not path.exists():
        return

    def _onerror(func, p, _exc):  # make parents writable, then retry once
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(p), 0o700)
            if os.path.isdir(p) and not os.path.islink(p):
                os.chmod(p, 0o700)
        func(p)

    shutil.rmtree(path, onerror=_onerror)
