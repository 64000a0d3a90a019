"""``apptainer verify --key`` started before the rest of ``verify`` is loaded.

On a large image ``apptainer verify`` (hashing every object) is most of
``verify --key``'s time, and the CLI's imports would otherwise all come
before it.  The CLI calls :func:`prestart` with arguments it has already
checked; :func:`claim` hands the running check to :mod:`.verdict` when its
command line is exactly the one it would have run.  A started check that
nobody claims (the full parse then refused the arguments, or ``verify``
failed before reaching it) is stopped when the interpreter exits, as every
child still running then is (:mod:`scitex_container.procgroup`).

The process is started by :func:`scitex_container.procgroup.spawn_query`,
the runner's own spawn (its own process group, tracked, so an interrupt or
the exit stops it), and collected by :func:`scitex_container.runner.finish`.
This module imports neither the runner nor pathlib: both load after the
check has started, beside it.
"""

from __future__ import annotations

import os
import time

from scitex_container import procgroup

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (early start)

if TYPE_CHECKING:
    import subprocess

    from scitex_container.runner import Started

#: argv -> (process, start time).  No lock: the CLI's main thread starts
#: checks and ``verify``'s check thread claims one with a single atomic ``pop``.
_started: dict[tuple[str, ...], tuple[subprocess.Popen, float]] = {}


def path_text(path: str | os.PathLike) -> str:
    """``str(pathlib.Path(path))`` without pathlib: repeated slashes and ``.``
    parts dropped, a trailing slash dropped, exactly two leading slashes kept."""
    text = os.fspath(path)
    if not text:
        return "."
    if text.startswith("//") and not text.startswith("///"):
        root = "//"
    else:
        root = "/" if text.startswith("/") else ""
    return root + "/".join(p for p in text.split("/") if p and p != ".") or "."


def verify_argv(cmd: str, image: str | os.PathLike, key: str | os.PathLike) -> tuple[str, ...]:
    """The one command line of a signature check (see :mod:`.verdict`), paths
    spelled as :class:`~pathlib.Path` spells them."""
    return (cmd, "verify", "--key", path_text(key), "--all", path_text(image))


def prestart(image: str | os.PathLike, key: str | os.PathLike) -> None:
    """Start the signature check of ``image`` with ``key`` now (read-only)."""
    from scitex_container.apptainer.command import detect_container_cmd

    argv = verify_argv(detect_container_cmd(), image, key)
    if argv in _started:
        return
    _started[argv] = (procgroup.spawn_query(argv), time.monotonic())


def claim(argv: tuple[str, ...]) -> Started | None:
    """The check already running with exactly ``argv``, if any (each is claimed once)."""
    found = _started.pop(argv, None)
    if found is None:
        return None
    from scitex_container.runner import Started

    return Started(argv, *found)
