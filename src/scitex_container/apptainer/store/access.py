"""Who may change a store: one check, made the same way by a real run and its dry run.

Every change to a store takes its lock (:func:`.state.hold`), and the lock
first asks :func:`require_writable`.  A dry run takes no lock but asks the
same question, so it refuses a caller who cannot write the store with the
real run's message and exit code (2) instead of saying "would ...".

The advice names only what can work: ``--sudo`` where the command has it,
it can do the whole change through sudo (the link switch and a deploy's
copies; their lock is then kept beside the caller) and a ``sudo`` program
is there; otherwise what the caller can do.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from scitex_container.errors import BadInputError, PathKindError
from scitex_container.files.pathinfo import not_a_directory, not_writable, tidy_path
from scitex_container.process import runner

#: the advice where ``--sudo`` cannot do the change (our own log, metadata or
#: keep marker is written as the caller): what the caller can do instead
OWNER_HINT = (
    "changing it needs write access: run the command as its owner, or use a directory you can write"
)


def nearest_existing(path: Path) -> Path:
    """``path`` or its nearest ancestor that exists (what a ``mkdir -p`` would write in)."""
    path = Path(os.path.abspath(path))
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def can_write(path: Path) -> bool:
    """Can the caller make entries in ``path`` (or, when missing, create it)?"""
    where = nearest_existing(path)
    return os.access(where, os.W_OK | os.X_OK)


def write_hint(sudo: bool | None, have_sudo: bool | None = None) -> str:
    """The advice for a store the caller cannot write.

    ``sudo``: None when the command cannot do its change through sudo,
    False when it can (``--sudo``) but was not asked to.  ``have_sudo``:
    is a ``sudo`` program on PATH (looked up when None).
    """
    if sudo is None:
        return OWNER_HINT
    if have_sudo is None:
        have_sudo = shutil.which("sudo") is not None
    return "use --sudo, or run the command as its owner" if have_sudo else OWNER_HINT


def writable_error(path: Path, sudo: bool | None = None) -> BadInputError | None:
    """The refusal for a caller who cannot write ``path``, or None when they can.

    A FIFO, device, socket or file where the directory is (or would be made)
    is said as what it is, for root too (``PATH: is a FIFO, not a directory``).
    ``sudo`` True (asked for, and we are not root): the change goes through
    sudo, nothing to refuse here.
    """
    kind = not_a_directory_error(path)
    if kind is not None:
        return kind
    if sudo and os.geteuid() != 0:
        return None
    if can_write(path):
        return None
    return not_writable(nearest_existing(path), write_hint(sudo))


def not_a_directory_error(path: Path) -> PathKindError | None:
    """``PATH: is a FIFO, not a directory`` (a device, a socket; a file: ``not a
    directory``) when ``path`` or the nearest ancestor it would be made in is no
    directory, else None."""
    where = nearest_existing(path)
    if where.is_dir():
        return None
    return not_a_directory(where) or PathKindError(f"{tidy_path(str(where))}: not a directory")


def require_writable(path: Path, sudo: bool | None = None) -> None:
    """Raise :func:`writable_error` of ``path`` when there is one."""
    error = writable_error(path, sudo)
    if error is not None:
        raise error


def make_dir(path: Path) -> None:
    """Make the store directory ``path`` (not in a dry run), refusing alike in both."""
    require_writable(path)
    if not runner.is_dry_run():
        path.mkdir(parents=True, exist_ok=True)
