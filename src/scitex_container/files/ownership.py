"""Who may have written state we act on: the caller (and, where allowed, root).

State owned by another user is not trusted: a co-user who can write a
directory or a file we read could plant content we would act on.  A path
passes when it is not a symbolic link, is of the expected kind, is owned by
the user running this process (or by root, where the caller allows it) and
is not writable by its group or by others.  :func:`problem` says what is
wrong with an ``os.stat_result``; callers word the refusal for their state
(session records, the artifact archive).
"""

from __future__ import annotations

import errno
import os
import pwd
import stat
from collections.abc import Callable
from pathlib import Path

from scitex_container.errors import UntrustedStateError
from scitex_container.files.pathinfo import special_not_a_directory


def owner_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def problem(st: os.stat_result, *, directory: bool, allow_root: bool = False) -> str | None:
    """Why ``st`` (from lstat/fstat) is not trusted, or None when it is."""
    if stat.S_ISLNK(st.st_mode):
        return "is a symbolic link"
    if directory and not stat.S_ISDIR(st.st_mode):
        return "is not a directory"
    if not directory and not stat.S_ISREG(st.st_mode):
        return "is not a regular file"
    if st.st_uid != os.getuid() and not (allow_root and st.st_uid == 0):
        return "is owned by another user"
    if st.st_mode & 0o022:
        return "is writable by other users"
    return None


def describe(st: os.stat_result) -> str:
    """``owner NAME, mode 0NNN`` for a refusal message."""
    return f"owner {owner_name(st.st_uid)}, mode {stat.S_IMODE(st.st_mode):04o}"


def check_trusted(
    path: Path, *, directory: bool, allow_root: bool, rule: Callable[[], str]
) -> os.stat_result:
    """lstat ``path``; UntrustedStateError unless trusted.

    ``rule()`` says what is required; it is called only for a refusal (it
    may look up a user name, which a directory service can make slow).

    Raises:
        FileNotFoundError: ``path`` does not exist.
    """
    return _trusted(path, os.lstat(path), directory, allow_root, rule)


def _trusted(
    path: Path, st: os.stat_result, directory: bool, allow_root: bool, rule: Callable[[], str]
) -> os.stat_result:
    if directory and (kind := special_not_a_directory(path, st.st_mode)) is not None:
        raise kind  # a FIFO where a directory is: said as what it is, for root too
    why = problem(st, directory=directory, allow_root=allow_root)
    if why is not None:
        raise UntrustedStateError(f"{why} ({describe(st)}); {rule()}", str(path))
    return st


def read_trusted(path: Path, *, allow_root: bool, rule: Callable[[], str]) -> bytes:
    """The bytes of ``path``, opened without following a link and checked on
    the open descriptor (no window between check and read)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            check_trusted(path, directory=False, allow_root=allow_root, rule=rule)
        raise
    try:
        _trusted(path, os.fstat(fd), False, allow_root, rule)
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return fh.read()
    finally:
        os.close(fd)


def follow_trusted(path: str | os.PathLike) -> Path:
    """``realpath(path)``, refusing a link of another user that leads out of its folder.

    A link owned by us or by root is followed.  A link another user owns is
    followed only to a plain name in its own directory (a store's active
    link to a version); one pointing elsewhere (``/root/secret``, ``../x``)
    is refused naming it and its owner, so root is never steered by a
    user's link (:class:`~scitex_container.errors.UntrustedStateError`, exit 2).
    """
    me = os.geteuid()
    current = Path(os.path.abspath(path))
    for _ in range(40):
        try:
            st = os.lstat(current)
        except FileNotFoundError:
            break
        if not stat.S_ISLNK(st.st_mode):
            break
        target = os.readlink(current)
        if st.st_uid not in (me, 0) and ("/" in target or target in (".", "..")):
            raise UntrustedStateError(
                f"is a symbolic link to `{target}` ({describe(st)}); "
                "refusing to follow another user's link out of its folder",
                str(current),
            )
        current = Path(os.path.abspath(current.parent / target))
    return Path(os.path.realpath(current))


def read_no_follow(path: Path) -> bytes:
    """The bytes of ``path``; a symbolic link is refused (never read through)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            st = os.lstat(path)
            raise UntrustedStateError(
                f"is a symbolic link ({describe(st)}); refusing to read through it", str(path)
            ) from None
        raise
    with os.fdopen(fd, "rb") as fh:
        return fh.read()


def ancestor_problem(st: os.stat_result) -> str | None:
    """Why a directory above trusted state (``st`` from lstat/stat) lets someone else
    rename that state away, or None: it must be owned by root or the caller and writable
    by no one else, unless sticky (``/tmp``: others cannot rename what is ours in it)."""
    if st.st_uid not in (0, os.geteuid()):
        return "is owned by another user"
    if st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
        return "is writable by other users"
    return None


def check_ancestors(path: str | os.PathLike, *, what: str) -> None:
    """Refuse ``path`` (UntrustedStateError naming the ancestor, its owner and mode) when a
    directory above it, on its path as written or as resolved, is not :func:`ancestor_problem`
    clean: another user could rename ``what`` away and put theirs in its place.  A symbolic
    link on the way must be owned by root or the caller.  Ancestors not made yet pass."""
    written = Path(os.path.abspath(path))
    resolved = Path(os.path.realpath(written))
    seen: set[Path] = set()
    for chain in (written, resolved):
        for ancestor in reversed(chain.parents):
            if ancestor in seen:
                continue
            seen.add(ancestor)
            try:
                st = os.lstat(ancestor)
            except FileNotFoundError:
                break
            if stat.S_ISLNK(st.st_mode):
                why = None if st.st_uid in (0, os.geteuid()) else "is owned by another user"
            else:
                why = ancestor_problem(st)
            if why is not None:
                raise UntrustedStateError(
                    f"{why} ({describe(st)}); every directory above {what} must be owned by "
                    "root or you and writable by no one else (unless sticky, like /tmp)",
                    str(ancestor),
                )
