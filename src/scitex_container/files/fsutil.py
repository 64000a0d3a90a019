"""Atomic file operations and content hashing.

Every file this package writes goes through here: a temporary file in the
same directory, fsync, ``os.replace``, then fsync of the directory, so a
reader sees the old content or the new, never a torn file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

from scitex_container.files import temporaries
from scitex_container.files.temporaries import remove_path

CHUNK = 4 * 1024 * 1024


def fsync_dir(directory: str | os.PathLike) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_path(final: str | os.PathLike, suffix: str = ".tmp") -> Path:
    """An unused, random hidden name beside ``final`` (same filesystem); nothing is created.

    Callers name the temporary first and create it inside the ``try`` that
    removes it (exclusively: ``O_EXCL``, ``symlink``), so an interrupt that
    lands just after it is created still finds its removal armed.
    (``mkstemp`` returns the name only once the file exists: an interrupt
    between the two leaves a file nobody knows of.)
    """
    final = Path(final)
    while True:
        path = final.with_name(f".{final.name}.{secrets.token_hex(8)}{suffix}")
        if not os.path.lexists(path):
            return path


def _unlink_ours(tmp: Path, exc: BaseException) -> None:
    """Remove the temporary ``tmp`` after ``exc`` unless ``exc`` says it was never ours."""
    if isinstance(exc, FileExistsError) and os.fspath(tmp) in (exc.filename, exc.filename2):
        return  # someone else's file took the name first: not ours to remove
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)


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
    tmp = temporaries.track(temp_path(path))
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        _unlink_ours(tmp, exc)
        temporaries.forget(tmp)
        if isinstance(exc, OSError) and exc.filename is None:  # ENOSPC from write(): say where
            raise type(exc)(exc.errno, exc.strerror, os.fspath(path)) from exc
        raise
    temporaries.forget(tmp)
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
    tmp = temporaries.track(temp_path(link, suffix=".link"))
    try:
        os.symlink(os.fspath(target), tmp)
        os.replace(tmp, link)
    except BaseException as exc:
        _unlink_ours(tmp, exc)
        temporaries.forget(tmp)
        raise
    temporaries.forget(tmp)
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


__all__ = [
    "atomic_symlink",
    "atomic_write_bytes",
    "atomic_write_text",
    "fsync_dir",
    "remove_path",  # lives with the sweep that needs it; imported from here
    "sha256_file",
    "sha256_stream",
    "temp_path",
]


@contextlib.contextmanager
def made_dirs(
    path: str | os.PathLike,
    mode: int = 0o777,
    empty: Callable[[Path], None] | None = None,
) -> Iterator[Path]:
    """``mkdir -p path``; if the block fails, remove the directories made here (when empty).

    So a refused or interrupted command leaves no empty directory it created.
    ``empty(path)``, when given and ``path`` was made here, first removes what
    the block itself left inside it (e.g. a store's lock files).
    """
    path = Path(path)
    missing = []
    for parent in (path, *path.parents):
        if os.path.lexists(parent):
            break
        missing.append(parent)
    path.mkdir(mode=mode, parents=True, exist_ok=True)
    try:
        yield path
    except BaseException:
        if empty is not None and missing:
            with contextlib.suppress(OSError):
                empty(path)
        for made in missing:  # deepest first
            with contextlib.suppress(OSError):
                made.rmdir()
        raise
