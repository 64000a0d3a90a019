"""Who may have written the session state: only the caller (see
:mod:`scitex_container.ownership` for the shared check).

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
from pathlib import Path

from scitex_container.errors import UntrustedStateError
from scitex_container.ownership import describe, owner_name, problem

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def _refuse(path: Path, why: str, st: os.stat_result) -> UntrustedStateError:
    me = owner_name(os.getuid())
    return UntrustedStateError(
        f"{why} ({describe(st)}); session state must be owned by {me} and writable only by {me}",
        str(path),
    )


def check(path: Path, *, directory: bool) -> os.stat_result:
    """lstat ``path`` and refuse it unless it is ours, private-ish and not a link.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        UntrustedStateError: it is a link, another user's, or group/world-writable.
    """
    st = os.lstat(path)
    why = problem(st, directory=directory)
    if why is not None:
        raise _refuse(path, why, st)
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
        why = problem(st, directory=False)
        if why is not None:
            raise _refuse(path, why, st)
        with os.fdopen(fd, "r", encoding="utf-8", closefd=False) as fh:
            return fh.read()
    finally:
        os.close(fd)
