"""Who may have written the session state: only the caller (see
:mod:`scitex_container.files.ownership` for the shared check).

A session's state directory, its per-session directories and its records
are trusted only when they are owned by the user running this process, are
not writable by the group or by others and are not symbolic links.  Anything
else is refused with the path and its owner (exit 2): another user who could
write there could plant a record that we would act on.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from scitex_container.files.ownership import check_trusted, owner_name, read_trusted

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def _rule() -> str:
    me = owner_name(os.getuid())
    return f"session state must be owned by {me} and writable only by {me}"


def check(path: Path, *, directory: bool) -> os.stat_result:
    """lstat ``path`` and refuse it unless it is ours, private-ish and not a link.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        UntrustedStateError: it is a link, another user's, or group/world-writable.
    """
    return check_trusted(path, directory=directory, allow_root=False, rule=_rule)


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
    return read_trusted(path, allow_root=False, rule=_rule).decode("utf-8")
