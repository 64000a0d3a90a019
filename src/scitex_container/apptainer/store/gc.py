"""Garbage left by killed commands: stale temporaries and orphan sidecars.

Temporaries are hidden names (``.<name>...``) and never listed as
versions; these functions remove the ones no live command owns, and with
a killed build's scratch the sidecars (its log) of the version it never
published.  Callers
hold the store lock, so temporaries that only lock holders write are stale
whenever they are seen; build and copy temporaries carry their writer's pid.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from collections.abc import Callable
from pathlib import Path

from scitex_container.apptainer.store.naming import Scheme
from scitex_container.apptainer.store.sidecars import LOG_SUFFIX, SIDECAR_SUFFIXES
from scitex_container.apptainer.store.state import (
    pid_alive,
    remove_scratch,
    scratch_artifact,
    stale_scratch,
)
from scitex_container.errors import CleanupIncompleteError
from scitex_container.files.fsutil import remove_path
from scitex_container.files.pathinfo import from_oserror, not_writable
from scitex_container.process import runner

#: Hidden temporaries that writers holding the lock leave only when killed.
_LOCKED_TEMPS = (".link", ".removing")
#: Temporaries written without the store lock (atomic metadata writes): stale when old.
_UNLOCKED_TEMPS = (".tmp",)
_STALE_AGE = 120.0
#: Temporaries tagged with the pid of their writer: stale when that process is gone.
_PID_TEMPS = (".building", ".copying")


def building_pid(name: str) -> int | None:
    """The writer pid encoded in ``.<name>.<pid>.<ns>.building`` (``.copying``, and
    ``.<name>.<pid>.<hex>.tmp`` of :func:`~scitex_container.files.fsutil.temp_path`)."""
    stem = name.rsplit(".", 1)[0]
    parts = stem.rsplit(".", 2)
    if len(parts) == 3 and parts[1].isdigit():
        return int(parts[1])
    return None


def remove_orphan_sidecars(directory: Path, scheme: Scheme, building: bool) -> list[Path]:
    """Remove sidecars (logs of failed builds...) whose version does not exist.

    A version being built right now (its hidden temporary exists, or a build
    holds the build lock: its log is being written) keeps its sidecars.  In
    a dry run the same list is returned and nothing removed (so `cleanup
    --dry-run` names the logs the real run removes).  Caller holds the lock.
    """
    dry = runner.is_dry_run()
    if not directory.is_dir():
        return []
    names = set(os.listdir(directory))
    removed = []
    for name in names:
        suffix = next((s for s in SIDECAR_SUFFIXES if name.endswith(s)), None)
        if suffix is None:
            continue
        artifact = name[: -len(suffix)]
        if scheme.version_of(artifact) is None or artifact in names:
            continue
        if any(n.startswith(f".{artifact}.") and n.endswith(_PID_TEMPS) for n in names):
            continue
        if building and suffix == LOG_SUFFIX:
            continue
        if not dry:
            (directory / name).unlink(missing_ok=True)
        removed.append(directory / name)
    return removed


def remove_each(
    paths: list[Path],
    remove: Callable[[Path], None],
    done: list[Path],
    with_it: Callable[[Path], list[Path]] = lambda path: [],
) -> None:
    """``remove`` each path, appending it (and ``with_it(path)``, what goes with it, its
    sidecars) to ``done``; the first failure stops the rest.

    Raises CleanupIncompleteError naming the path that stayed (never a
    temporary name of ours) and listing everything removed before it.
    """
    if paths and not os.access(paths[0].parent, os.W_OK):  # said of the directory, up front
        denied = not_writable(paths[0].parent, "cannot remove versions in it")
        raise CleanupIncompleteError(str(denied), done, denied.exit_code)
    for path in paths:
        going = with_it(path)
        try:
            remove(path)
        except OSError as exc:
            err = from_oserror(exc, path)
            why = str(err)
            if exc.errno == errno.EPERM:  # not the mode: an attribute (chattr +i / +a)
                why = f"{path}: operation not permitted (immutable or append-only? see lsattr)"
            raise CleanupIncompleteError(
                f"{why}; stopped there, {len(done)} removed before it", done, err.exit_code
            ) from None
        done += [path, *going]


def remove_stale(directory: Path, scheme: Scheme) -> list[Path]:
    """Remove temporaries left by killed commands (caller holds the lock).

    In a dry run the same list is returned and nothing removed.
    """
    dry = runner.is_dry_run()
    if not directory.is_dir():
        return []
    removed = []
    now = time.time()
    prefixes = (f".{scheme.prefix}", f".{scheme.active}.")
    for entry in os.scandir(directory):
        name = entry.name
        if not name.startswith(prefixes):
            continue
        stale = False
        if name.endswith(_LOCKED_TEMPS):
            stale = True
        elif name.endswith(_PID_TEMPS):
            pid = building_pid(name)
            stale = pid is not None and not pid_alive(pid)
        elif name.endswith(_UNLOCKED_TEMPS):  # ours (fsutil.temp_path): a dead writer, or old
            pid = building_pid(name)
            stale = pid is not None and not pid_alive(pid)
            with contextlib.suppress(OSError):
                stale = stale or now - entry.stat(follow_symlinks=False).st_mtime > _STALE_AGE
        if stale:
            if not dry:
                with contextlib.suppress(FileNotFoundError):
                    remove_path(Path(entry.path))
            removed.append(Path(entry.path))
    for scratch in stale_scratch(directory):  # apptainer's temp space of a killed build
        if not dry:
            with contextlib.suppress(OSError):
                remove_scratch(scratch)
        removed.append(scratch)
        removed += _killed_build_sidecars(directory, scheme, scratch_artifact(scratch), dry)
    return removed


def _killed_build_sidecars(
    directory: Path, scheme: Scheme, artifact: str | None, dry: bool = False
) -> list[Path]:
    """Sidecars (the log, a metadata file written just before the rename) of a killed build.

    Only for a version that never appeared: a failed build's log stays as
    evidence (its scratch was released), a published version keeps its own.
    """
    if artifact is None or scheme.version_of(artifact) is None:
        return []
    if os.path.lexists(directory / artifact):
        return []
    removed = []
    for suffix in SIDECAR_SUFFIXES:
        path = directory / (artifact + suffix)
        if os.path.lexists(path):
            if not dry:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            removed.append(path)
    return removed
