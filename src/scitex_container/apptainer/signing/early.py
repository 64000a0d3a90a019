"""``apptainer verify --key`` started before the rest of ``verify`` is loaded.

On a large image ``apptainer verify`` (hashing every object) is most of
``verify --key``'s time, and the interpreter plus the CLI's imports (~0.15 s
here) would otherwise come before it.  The CLI calls :func:`prestart` with
arguments it has already checked; :func:`claim` hands the running check to
:class:`.verdict.ApptainerCheck` when its command line is exactly the one it
would have run.  A started check that nobody claims (the full parse then
refused the arguments, or ``verify`` failed before reaching it) is stopped
when the interpreter exits.  Only :mod:`.runner` starts the process, so it
is tracked and an interrupt stops it like any other child.
"""

from __future__ import annotations

import atexit
import os
import threading
from pathlib import Path

from scitex_container import runner

_started: dict[tuple[str, ...], runner.Started] = {}
_lock = threading.Lock()


def verify_argv(cmd: str, image: str | os.PathLike, key: str | os.PathLike) -> tuple[str, ...]:
    """The one command line of a signature check (see :mod:`.verdict`).

    Paths as :class:`~pathlib.Path` spells them, as ``verify`` passes them.
    """
    return (cmd, "verify", "--key", os.fspath(Path(key)), "--all", os.fspath(Path(image)))


def prestart(image: str | os.PathLike, key: str | os.PathLike) -> None:
    """Start the signature check of ``image`` with ``key`` now (read-only)."""
    from scitex_container.apptainer.tool import detect_container_cmd

    argv = verify_argv(detect_container_cmd(), image, key)
    with _lock:
        if argv in _started:
            return
        if not _started:
            atexit.register(abandon_unclaimed)
        _started[argv] = runner.start(argv)


def claim(argv: tuple[str, ...]) -> runner.Started | None:
    """The check already running with exactly ``argv``, if any (each is claimed once)."""
    with _lock:
        return _started.pop(argv, None)


def abandon_unclaimed() -> None:
    """Stop every started check nobody claimed."""
    with _lock:
        left = list(_started.values())
        _started.clear()
    for started in left:
        runner.abandon(started)
