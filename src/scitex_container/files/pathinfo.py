"""What is wrong with a path, said once for every command.

:func:`from_oserror` turns an ``OSError`` into the package's error for its
cause, one line naming the path: a refused access names the owner and mode
of the file or of the directory that refused it, a full disk names the file
system, a link loop, a path through a file, a directory or a FIFO where a
file was expected are each said as such.  :func:`regular_file` checks a
path that is about to be read as a file (a def, a lock) before anything
opens it: a FIFO would block and ``/dev/zero`` never ends.
"""

from __future__ import annotations

import errno
import io
import os
import stat
from pathlib import Path

from scitex_container.errors import (
    AccessDeniedError,
    DiskFullError,
    NotFoundError,
    PathKindError,
    ScitexError,
)

_ACCESS = frozenset({errno.EACCES, errno.EPERM, errno.EROFS})
_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})


def is_no_space(exc: BaseException) -> bool:
    """Is ``exc`` a write refused for space: ENOSPC, or EDQUOT (a full quota)?"""
    return isinstance(exc, OSError) and exc.errno in _SPACE


def _owner(uid: int) -> str:
    import pwd

    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def owner_mode(path: str | os.PathLike[str]) -> str:
    """``owner NAME, mode 0755`` of ``path`` (not following a final link), or ``""``."""
    try:
        st = os.lstat(path)
    except OSError:
        return ""
    return f"owner {_owner(st.st_uid)}, mode {stat.S_IMODE(st.st_mode):04o}"


def target_owner_mode(path: str | os.PathLike[str]) -> str:
    """:func:`owner_mode` of what the link ``path`` leads to (``TARGET: owner, mode``);
    of ``path`` itself when it is no link (a link's own mode, 0777, says nothing)."""
    if not os.path.islink(path):
        return owner_mode(path)
    target = os.path.realpath(path)
    detail = owner_mode(target)
    return f"{target}: {detail}" if detail else owner_mode(path)


def _refuser(path: str) -> str:
    """The file or directory that refuses the caller access to ``path``, described."""
    absolute = os.path.abspath(path)
    parts = Path(absolute).parents
    for parent in reversed(parts):  # from / down: a directory we cannot enter
        if parent.is_dir() and not os.access(parent, os.X_OK):
            return f"cannot enter {parent} ({owner_mode(parent)})"
    closed = _closed_directory(absolute)
    if closed:
        return closed
    if os.path.lexists(absolute) and not os.access(absolute, os.R_OK):
        return target_owner_mode(absolute)  # the file itself refuses: its owner and mode
    parent_dir = os.path.dirname(absolute)
    if not os.access(parent_dir, os.W_OK):
        return f"cannot write in {parent_dir} ({owner_mode(parent_dir)})"
    return _sticky_detail(absolute) or owner_mode(absolute)


def _sticky_detail(path: str) -> str:
    """``owner X, mode 0644; DIR is sticky: ...`` when ``path`` is another user's entry in a
    sticky directory the caller does not own (rename/unlink there refused, EPERM), or ``""``.
    Root (CAP_FOWNER) may replace it."""
    me = os.geteuid()
    if me == 0:
        return ""
    try:
        st = os.lstat(path)
        parent = os.stat(os.path.dirname(os.path.abspath(path)))
    except OSError:
        return ""
    if not parent.st_mode & stat.S_ISVTX or me in (st.st_uid, parent.st_uid):
        return ""
    where = os.path.dirname(os.path.abspath(path))
    return f"{owner_mode(path)}; {where} is sticky: only the file's owner may replace it"


def sticky_refusal(path: str | os.PathLike[str]) -> AccessDeniedError | None:
    """The refusal a rename over ``path`` meets in a sticky directory (``/tmp``-like) when
    ``path`` is another user's, said as the real write says it; None when it may be replaced."""
    name = tidy_path(os.fspath(path))
    detail = _sticky_detail(name)
    return AccessDeniedError(f"{name}: permission denied ({detail})") if detail else None


def _closed_directory(path: str) -> str:
    """``cannot read or enter it (owner, mode)`` for a directory the caller cannot list
    or enter (a store dir 0700 of another user), ``""`` otherwise."""
    if not os.path.isdir(path):
        return ""
    cannot = [
        verb for verb, bit in (("read", os.R_OK), ("enter", os.X_OK)) if not os.access(path, bit)
    ]
    if not cannot:
        return ""
    return f"cannot {' or '.join(cannot)} it ({owner_mode(path)})"


def _kind(path: str) -> str:
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return "not a regular file"
    return _kind_of_mode(mode)


def _in_the_way(path: str) -> str:
    """What sits where a directory or link was to be made ("File exists" says nothing)."""
    if os.path.islink(path):
        try:
            os.stat(path)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return "too many levels of symbolic links (a link loop)"
            return f"a dangling symbolic link (to {os.readlink(path)}); remove it or name another"
        return f"a symbolic link to {os.readlink(path)}, {_kind(path)}"
    if os.path.isdir(path):
        return "already exists (a directory)"
    return f"already exists ({_kind(path).replace('not a regular file', 'a file')})"


def _component_not_a_directory(path: str) -> PathKindError | None:
    """``COMPONENT: is a FIFO, not a directory`` for the first ancestor of ``path``
    that is a FIFO, device or socket (a path through one), else None."""
    for parent in reversed(Path(path).parents):
        if (err := not_a_directory(parent)) is not None:
            return err
    return None


def link_loop_error(exc: RuntimeError) -> PathKindError | None:
    """pathlib's ``RuntimeError: Symlink loop from 'X'`` (Python < 3.13) as the ELOOP line."""
    text = str(exc)
    if not text.startswith("Symlink loop from "):
        return None
    where = text[len("Symlink loop from ") :].strip().strip("'\"")
    return PathKindError(f"{tidy_path(where)}: too many levels of symbolic links (a link loop)")


def describe_oserror(exc: OSError, path: str | None) -> tuple[type[ScitexError], str]:
    """(error class, one-line message) for ``exc`` met on ``path``."""
    code = exc.errno
    where = path or ""
    lead = f"{where}: " if where else ""
    if code in _ACCESS:
        if code == errno.EROFS:
            return AccessDeniedError, f"{lead}read-only file system"
        parent = os.path.dirname(os.path.abspath(where))
        if path and os.path.basename(where).startswith(".") and not os.access(parent, os.W_OK):
            # our own temporary beside the target: name the directory, not it
            return AccessDeniedError, (
                f"{parent}: permission denied, cannot write in it ({owner_mode(parent)})"
            )
        detail = _refuser(where) if path else ""
        return AccessDeniedError, f"{lead}permission denied" + (f" ({detail})" if detail else "")
    if code in _SPACE:
        return DiskFullError, f"{lead}no space left on device"
    if code == errno.ELOOP:
        return PathKindError, f"{lead}too many levels of symbolic links (a link loop)"
    if code == errno.ENOTDIR:
        if path and (err := not_a_directory(where)) is not None:  # the path itself is the file
            return PathKindError, str(err)
        if path and (err := _component_not_a_directory(where)) is not None:
            return PathKindError, str(err)  # the FIFO the path runs through, named
        return PathKindError, f"{lead}a component of the path is not a directory"
    if code == errno.EISDIR:
        return PathKindError, f"{lead}is a directory, not a file"
    if code == errno.ENOENT:
        if path and os.path.islink(where):  # the link is there, what it names is not
            return PathKindError, f"{lead}is a dangling link (to {os.readlink(where)})"
        return NotFoundError, f"{lead}does not exist"
    if code == errno.EEXIST and path:
        return PathKindError, f"{lead}{_in_the_way(where)}"
    return ScitexError, f"{lead}{exc.strerror or exc}"


def from_oserror(exc: BaseException, path: str | os.PathLike[str] | None = None) -> ScitexError:
    """The package's error for ``exc`` (an ``OSError``; a ScitexError is returned as is)."""
    if isinstance(exc, ScitexError):
        return exc
    if not isinstance(exc, OSError):
        raise TypeError(f"not an OSError: {exc!r}")
    where = os.fspath(path) if path is not None else None
    named = exc.filename2 or exc.filename  # a link or rename: the path being made
    if where is None and isinstance(named, str | bytes):
        where = os.fsdecode(named)
    if where is not None:
        where = tidy_path(where)
    cls, message = describe_oserror(exc, where)
    return cls(message)  # (no errno set: OSError.__str__ would print it instead)


def tidy_path(path: str) -> str:
    """``path`` without ``.``, ``//`` and ``dir/..`` where that still names the same file.

    For printing and for handing on: ``defs/../images/x.sif`` becomes
    ``images/x.sif``.  A ``..`` after a symbolic link is kept (lexically
    dropping it would name another place), and so is a trailing slash.
    """
    if not path or path == "-":
        return path
    norm = os.path.normpath(path)
    if norm.rstrip("/") == path.rstrip("/") or norm == ".":
        return path
    if os.path.realpath(norm) != os.path.realpath(path):
        return path  # a link's `..`: normpath would lie about where it leads
    return norm + "/" if path.endswith("/") and norm != "/" else norm


def not_writable(path: str | os.PathLike[str], hint: str = "") -> AccessDeniedError:
    """The refusal for a directory the caller cannot write, owner and mode named."""
    name = tidy_path(os.fspath(path))
    detail = owner_mode(name)
    message = f"{name}: permission denied" + (f" ({detail})" if detail else "")
    return AccessDeniedError(message + (f"; {hint}" if hint else ""))


def not_readable(path: str | os.PathLike[str]) -> AccessDeniedError:
    """The refusal for a path the caller cannot read: ``PATH: permission denied (owner, mode)``."""
    name = tidy_path(os.fspath(path))
    detail = _closed_directory(name) or target_owner_mode(name)
    for parent in reversed(Path(os.path.abspath(name)).parents):  # a directory we cannot enter
        if parent.is_dir() and not os.access(parent, os.X_OK):
            detail = f"cannot enter {parent} ({owner_mode(parent)})"
            break
    return AccessDeniedError(f"{name}: permission denied" + (f" ({detail})" if detail else ""))


def regular_file(path: str | os.PathLike[str], what: str = "file") -> os.stat_result:
    """``stat`` of ``path``, a regular file we may read; the one refusal otherwise.

    Follows links (a def reached through a link is fine).  A FIFO, device,
    socket or directory is "not a regular file" (exit 2), never "not found".
    """
    name = tidy_path(os.fspath(path))
    try:
        st = os.stat(name)
    except OSError as exc:
        err = from_oserror(exc, name)
        if isinstance(err, NotFoundError):
            raise NotFoundError(f"{name}: does not exist") from None
        raise err from None
    if not stat.S_ISREG(st.st_mode):
        raise PathKindError(f"{name}: the {what} is {_kind(name)}")
    if not os.access(name, os.R_OK):
        raise AccessDeniedError(f"{name}: permission denied ({target_owner_mode(name)})")
    return st


#: A lock (or another text we parse whole) larger than this is refused, not read.
TEXT_LIMIT = 64 * 1024 * 1024


def open_regular(path: str | os.PathLike[str], what: str = "file") -> io.BufferedReader:
    """``path`` opened for reading, checked on the opened descriptor to be a regular file.

    The open itself never blocks (``O_NONBLOCK``: a FIFO without a writer
    opens at once) and the check is made with ``fstat`` of what was opened,
    so a FIFO or device swapped in after a ``stat`` is refused too.
    """
    name = tidy_path(os.fspath(path))
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except OSError as exc:
        err = from_oserror(exc, name)
        if isinstance(err, NotFoundError):
            raise NotFoundError(f"{name}: does not exist") from None
        raise err from None
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):  # the house wording of EISDIR
            raise PathKindError(f"{name}: is a directory, not a file")
        if not stat.S_ISREG(mode):
            raise PathKindError(f"{name}: the {what} is {_kind_of_mode(mode)}")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(
    path: str | os.PathLike[str], what: str = "file", limit: int = TEXT_LIMIT
) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them (larger: refused)."""
    name = tidy_path(os.fspath(path))
    with open_regular(name, what) as fh:
        try:
            data = fh.read(limit + 1)
        except OSError as exc:
            raise from_oserror(exc, name) from None
    if len(data) > limit:
        raise PathKindError(f"{name}: the {what} is larger than {limit // (1024 * 1024)} MiB")
    return data


def _kind_of_mode(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "not a regular file (a FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "not a regular file (a device)"
    if stat.S_ISSOCK(mode):
        return "not a regular file (a socket)"
    if stat.S_ISDIR(mode):
        return "a directory, not a file"
    return "not a regular file"


def broken_link(path: str | os.PathLike[str], what: str = "") -> PathKindError | None:
    """The refusal for ``path`` when it is a link loop or a dangling link, else ``None``.

    ``PATH: is a link loop`` / ``PATH: is a dangling link (to TARGET)``; ``what``
    (``"store"``, ``"%files source"``) is said after the path when given.
    """
    name = tidy_path(os.fspath(path))
    try:
        os.stat(name)
        return None
    except OSError as exc:
        code = exc.errno
    if not os.path.islink(name):
        if code != errno.ELOOP:  # a component of the path loops: said the same way
            return None
        return PathKindError(f"{name}: {what + ' ' if what else ''}is a link loop")
    lead = f"{name}: {what + ' ' if what else ''}is a"
    if code == errno.ELOOP:
        return PathKindError(f"{lead} link loop (too many levels of symbolic links)")
    if code == errno.ENOENT:
        return PathKindError(f"{lead} dangling link (to {os.readlink(name)})")
    return None


def not_found(path: str | os.PathLike[str], message: str = "does not exist") -> ScitexError:
    """The refusal for a missing ``path``: ``PATH: MESSAGE`` (NotFoundError), or, when
    ``path`` is a dangling link or a link loop, ``PATH: is a dangling link (to X)``."""
    return broken_link(path) or NotFoundError(message, tidy_path(os.fspath(path)))


def not_a_directory(path: str | os.PathLike[str]) -> PathKindError | None:
    """``PATH: is a FIFO, not a directory`` (a device, a socket) when ``path`` itself is
    such a file, else None (missing, a directory or a regular file)."""
    name = tidy_path(os.fspath(path))
    try:
        mode = os.stat(name).st_mode
    except OSError:
        return None
    return special_not_a_directory(name, mode)


def special_not_a_directory(path: str | os.PathLike[str], mode: int) -> PathKindError | None:
    """:func:`not_a_directory` for a ``mode`` already known (an ``lstat``, an ``fstat``)."""
    name = tidy_path(os.fspath(path))
    if stat.S_ISDIR(mode):
        return None
    kind = (
        "a FIFO"
        if stat.S_ISFIFO(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else ""
    )
    if not kind:  # a regular file: the caller's own "not a directory" says it
        return None
    return PathKindError(f"{name}: is {kind}, not a directory")
