"""Atomic file operations and content hashing.

Every file this package writes goes through here: a temporary file in the
same directory, fsync, ``os.replace``, then fsync of the directory, so a
reader sees the old content or the new, never a torn file.

What an output path names decides how it is written (:func:`output_kind`,
the one rule every writer follows): ``-`` is our stdout; a new path or a
regular file is replaced atomically; a character device, FIFO or socket
(``/dev/stdout``, a named pipe) is written through, never replaced (a
rename over ``/dev/null`` would turn the device into a file every program
then writes into); a directory, a link to one or a block device is refused
(exit 2).  A link is followed to a device, FIFO or socket only when every
link on the way belongs to us or to root: a link another user planted does
not steer our writes (a link to a regular file is replaced, not followed).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
import socket
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, Literal

from scitex_container.errors import NotAFileError, UntrustedStateError
from scitex_container.files import temporaries
from scitex_container.files.ownership import owner_name
from scitex_container.files.temporaries import remove_path

#: Where an output path sends its bytes (see :func:`output_kind`).
OutputKind = Literal["stdout", "replace", "through", "socket"]
STDOUT = "-"

CHUNK = 4 * 1024 * 1024


def fsync_dir(directory: str | os.PathLike) -> None:
    """Make a rename in ``directory`` durable.  A directory we may write and enter but not
    read (a drop box, mode 0773) cannot be opened to sync: the rename is done and stays
    (the file system's journal orders it), never reported as a failure after the fact."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except PermissionError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temp_path(final: str | os.PathLike, suffix: str = ".tmp") -> Path:
    """An unused, random hidden name beside ``final`` (same filesystem); nothing is created.

    ``.<name>.<pid>.<random><suffix>``: the writer's pid lets a store's sweep
    (``store/gc.py``) remove a temporary a SIGKILL left, without waiting.

    Callers name the temporary first and create it inside the ``try`` that
    removes it (exclusively: ``O_EXCL``, ``symlink``), so an interrupt that
    lands just after it is created still finds its removal armed.
    (``mkstemp`` returns the name only once the file exists: an interrupt
    between the two leaves a file nobody knows of.)
    """
    final = Path(final)
    pid = os.getpid()  # the writer, named: a sweep removes it once that process is gone
    while True:
        path = final.with_name(f".{final.name}.{pid}.{secrets.token_hex(8)}{suffix}")
        if not os.path.lexists(path):
            return path


_SPACE_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


def _unlink_ours(tmp: Path, exc: BaseException) -> None:
    """Remove the temporary ``tmp`` after ``exc`` unless ``exc`` says it was never ours."""
    if isinstance(exc, FileExistsError) and os.fspath(tmp) in (exc.filename, exc.filename2):
        return  # someone else's file took the name first: not ours to remove
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)


def _link_hops(path: Path) -> list[tuple[Path, os.stat_result]]:
    """The symbolic links met resolving ``path`` (each with its lstat)."""
    hops: list[tuple[Path, os.stat_result]] = []
    current = Path(os.path.abspath(path))
    for _ in range(40):
        try:
            st = os.lstat(current)
        except OSError:
            return hops
        if not stat.S_ISLNK(st.st_mode):
            return hops
        hops.append((current, st))
        current = Path(os.path.abspath(current.parent / os.readlink(current)))
    return hops


def output_kind(path: str | os.PathLike) -> OutputKind:
    """How an output at ``path`` is written (the module docstring has the rule).

    Raises:
        NotAFileError: ``path`` is a directory or a link to one (exit 2).
        BadInputError: a block device, or a device reached through another user's link.
    """
    if os.fspath(path) == STDOUT:
        return "stdout"
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "replace"  # a new path (or a dangling link, replaced)
    if stat.S_ISDIR(st.st_mode):
        raise NotAFileError("is a directory; give a file to write", os.fspath(path))
    if stat.S_ISREG(st.st_mode):
        hops = _link_hops(Path(path))
        if not any(os.fspath(hop).startswith("/proc/") for hop, _ in hops):
            return "replace"  # a plain file, or a link to one (the link is replaced)
        # /dev/stdout -> /proc/self/fd/1 -> a file: our own descriptor, written through
    if stat.S_ISBLK(st.st_mode):
        raise UntrustedStateError(
            "is a block device; refusing to write an output onto it", os.fspath(path)
        )
    me = os.geteuid()
    for hop, link in _link_hops(Path(path)):
        if link.st_uid not in (me, 0):
            raise UntrustedStateError(
                f"is a link of {owner_name(link.st_uid)} to a "
                f"{_kind_name(st.st_mode)}; refusing to follow it",
                os.fspath(hop),
            )
    return "socket" if stat.S_ISSOCK(st.st_mode) else "through"


def check_output(path: str | os.PathLike) -> OutputKind:
    """:func:`output_kind` of ``path``, refused (exit 2, owner and mode named) when the
    caller could not write it: a new file needs the nearest existing directory above it
    writable, a device or FIFO written through needs itself writable.  The one check
    of a non-store output, made by a real run and its dry run alike."""
    from scitex_container.files.pathinfo import not_writable, sticky_refusal

    kind = output_kind(path)
    if kind == "replace":
        where = Path(os.path.abspath(path)).parent
        while not os.path.lexists(where) and where != where.parent:
            where = where.parent
        if not os.access(where, os.W_OK | os.X_OK):
            raise not_writable(where)
        if (refused := sticky_refusal(path)) is not None:  # another user's file in /tmp-like
            raise refused
    elif kind == "through" and not os.access(path, os.W_OK):
        raise not_writable(path)
    return kind


def _kind_name(mode: int) -> str:
    for test, name in (
        (stat.S_ISCHR, "character device"),
        (stat.S_ISFIFO, "named pipe"),
        (stat.S_ISSOCK, "socket"),
    ):
        if test(mode):
            return name
    return "file"


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _write_through(path: str | os.PathLike, chunks, kind: OutputKind) -> None:
    """Write the byte ``chunks`` into what ``path`` already is (never create or replace it)."""
    if kind == "stdout":
        for chunk in chunks:
            _write_all(1, chunk)
        return
    if kind == "socket":
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(os.fspath(path))
            for chunk in chunks:
                sock.sendall(chunk)
        return
    fd = os.open(path, os.O_WRONLY | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.ftruncate(fd, 0)  # /dev/stdout onto a file: as the shell's ``>`` would
        for chunk in chunks:
            _write_all(fd, chunk)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, mode: int = 0o644) -> Iterator[BinaryIO]:
    """A binary file to stream an output into, by the rule of :func:`output_kind`.

    A new path or a regular file: a temporary beside it, fsynced and renamed
    over it when the block ends without an error (removed otherwise).
    ``-``, a device, a FIFO or a socket: written through as the block writes.
    """
    kind = output_kind(path)
    if kind == "stdout":
        with os.fdopen(os.dup(1), "wb") as fh:
            yield fh
        return
    if kind == "socket":
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(os.fspath(path))
            with sock.makefile("wb") as fh:
                yield fh
        return
    if kind == "through":
        fd = os.open(path, os.O_WRONLY | os.O_NOCTTY | os.O_CLOEXEC)
        if stat.S_ISREG(os.fstat(fd).st_mode):
            os.ftruncate(fd, 0)
        with os.fdopen(fd, "wb") as fh:
            yield fh
        return
    final = Path(path)
    tmp = temporaries.track(temp_path(final))
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, final)
    except BaseException as exc:
        _unlink_ours(tmp, exc)
        temporaries.forget(tmp)
        if isinstance(exc, OSError) and _nameless_space(exc):  # ENOSPC from write(): say where
            raise type(exc)(exc.errno, exc.strerror, os.fspath(final)) from exc
        raise
    temporaries.forget(tmp)
    fsync_dir(final.parent if str(final.parent) else Path("."))


def _nameless_space(exc: OSError) -> bool:
    """A full disk (or quota) met by ``write()``, which names no file."""
    return exc.filename is None and exc.errno in _SPACE_ERRNOS


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
    loss costs speed, never correctness.  ``-``, a device, a FIFO or a
    socket is written through instead (:func:`output_kind`).
    """
    kind = output_kind(path)
    if kind != "replace":
        _write_through(path, [data], kind)
        return Path(path)
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
    """``text`` as UTF-8; bytes read with ``surrogateescape`` go back as they were."""
    data = text.encode("utf-8", "surrogateescape")
    return atomic_write_bytes(path, data, mode, parents=parents, durable=durable)


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
    "STDOUT",
    "atomic_output",
    "atomic_symlink",
    "atomic_write_bytes",
    "atomic_write_text",
    "fsync_dir",
    "output_kind",
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
