"""Who may have written the session state: only the caller.

A session's state directory, its per-session directories and its records
are trusted only when they are owned by the user running this process, are
not writable by the group or by others and are not symbolic links.  Anything
else is refused with the path and its owner (exit 2): another user who could
write there could plant a record that we would act on.
"""

from __future__ import annotations

import contextlib
import errno
import os
import pwd
import stat
from pathlib import Path

from scitex_container.errors import UntrustedStateError

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def owner_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def _refuse(path: Path, why: str, st: os.stat_result) -> UntrustedStateError:
    me = owner_name(os.getuid())
    return UntrustedStateError(
        f"{why} (owner {owner_name(st.st_uid)}, mode {stat.S_IMODE(st.st_mode):04o}); "
        f"session state must be owned by {me} and writable only by {me}",
        str(path),
    )


def check(path: Path, *, directory: bool) -> os.stat_result:
    """lstat ``path`` and refuse it unless it is ours, private-ish and not a link.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        UntrustedStateError: it is a link, another user's, or group/world-writable.
    """
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        raise _refuse(path, "is a symbolic link", st)
    if directory and not stat.S_ISDIR(st.st_mode):
        raise _refuse(path, "is not a directory", st)
    if not directory and not stat.S_ISREG(st.st_mode):
        raise _refuse(path, "is not a regular file", st)
    if st.st_uid != os.getuid():
        raise _refuse(path, "is owned by another user", st)
    if st.st_mode & 0o022:
        raise _refuse(path, "is writable by other users", st)
    return st


def ensure_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) mode 0700, or check an existing one."""
    missing: list[Path] = []
    probe = path
    while not os.path.lexists(probe) and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for new in reversed(missing):
        # one made by a concurrent call is checked below like any existing one
        with contextlib.suppress(FileExistsError):
            os.mkdir(new, PRIVATE_DIR)
    check(path, directory=True)
    return path


def read_private(path: Path) -> str:
    """The text of a record file, opened without following a link and checked
    on the open descriptor (no window between check and read)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _refuse(path, "is a symbolic link", os.lstat(path)) from None
        raise
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _refuse(path, "is not a regular file", st)
        if st.st_uid != os.getuid():
            raise _refuse(path, "is owned by another user", st)
        if st.st_mode & 0o022:
            raise _refuse(path, "is writable by other users", st)
        with os.fdopen(fd, "r", encoding="utf-8", closefd=False) as fh:
            return fh.read()
    finally:
        os.close(fd)
