"""Temporaries this process made and has not yet removed or put in place.

An interrupt is an exception that can land on any line, the lines of the
cleanup code included (a ``finally`` that has not yet reached its
``unlink``, a context manager's ``__exit__`` before it resumes its
generator).  So a ``finally`` alone cannot promise that an interrupted
command leaves nothing.  Every temporary is *registered before it is
created* and forgotten once it is removed or renamed into place; what an
interrupt left registered, :func:`sweep` removes.  The CLI calls it on its
way out of an interrupt, after the children that might still write into a
temporary are stopped; ``atexit`` calls it for library users.

A path renamed into place and not yet forgotten is harmless: the sweep
finds nothing at the temporary name (or, for a file written at its final
name before what it belongs to, finds that in place: ``unless``).  Names
are unique (pid, time, random), so the sweep never removes what another
command made.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

#: path -> pid that made it; swept newest first.  No lock: an interrupt can
#: land between a lock's acquire and its release (on the ``with`` line as
#: the body ends), and a registry of cleanups must not deadlock the cleanup;
#: CPython's dict operations used here are atomic.
_pending: dict[str, tuple[int, str | None]] = {}


def track(path: str | os.PathLike, *, unless: str | os.PathLike | None = None) -> Path:
    """Register ``path`` (not yet created) as a temporary to remove if we are interrupted.

    ``unless``: a path whose existence makes ``path`` no longer temporary
    (a sidecar written before its version is renamed into place belongs
    to the version once the version exists).
    """
    path = Path(path)
    _pending[os.fspath(path)] = (os.getpid(), os.fspath(unless) if unless is not None else None)
    return path


def forget(*paths: str | os.PathLike) -> None:
    """``paths`` were removed or renamed into place: no longer ours to sweep."""
    for path in paths:
        _pending.pop(os.fspath(path), None)


def pending() -> list[Path]:
    """What would be swept now (for tests and diagnostics)."""
    return [Path(p) for p, (pid, _) in list(_pending.items()) if pid == os.getpid()]


def sweep() -> list[Path]:
    """Remove every registered temporary still present; return what was removed."""
    removed = []
    for name, (pid, unless) in reversed(list(_pending.items())):
        if _pending.pop(name, None) is None or pid != os.getpid():
            continue  # forgotten meanwhile, or a forked child's copy of its parent's
        if unless is not None and os.path.lexists(unless):
            continue  # it was put in place with what it belongs to
        if os.path.lexists(name):
            try:
                remove_path(name)
            except OSError:
                continue  # the store's next command sweeps it (its pid is gone)
            removed.append(Path(name))
    return removed


atexit.register(sweep)


def namespace_tag(ns: str | None = None) -> str:
    """12 hex digits naming this host and PID namespace: a pid in a temporary's name means
    something only there (a command in another PID namespace, or on another host sharing
    the file system, must not take a live build's temporary for a dead one's).

    ``ns``: the tag of that PID namespace of this host (``pid:[4026531836]``, as
    ``/proc/PID/ns/pid`` reads) instead of this process's."""
    import hashlib
    import socket

    if ns is None:
        try:
            ns = os.readlink("/proc/self/ns/pid")
        except OSError:
            ns = "pid:?"
    return hashlib.sha256(f"{socket.gethostname()}\0{ns}".encode()).hexdigest()[:12]


def new_dir(prefix: str, parent: str | os.PathLike | None = None) -> Path:
    """``mkdtemp`` (0700), registered before it exists; :func:`remove` it when done."""
    parent = Path(parent) if parent is not None else Path(tempfile.gettempdir())
    while True:
        path = track(parent / f"{prefix}{secrets.token_hex(6)}")
        try:
            os.mkdir(path, 0o700)
            return path
        except FileExistsError:
            forget(path)  # someone else's: never ours to sweep
        except BaseException:
            if not os.path.lexists(path):  # mkdir failed (made and interrupted: keep it tracked)
                forget(path)
            raise


def remove(path: str | os.PathLike) -> None:
    """Remove the temporary ``path`` (if still there), then forget it."""
    remove_path(path)
    forget(path)


@contextlib.contextmanager
def directory(prefix: str, parent: str | os.PathLike | None = None) -> Iterator[Path]:
    """``TemporaryDirectory`` whose removal an interrupt cannot skip (see the module doc)."""
    path = new_dir(prefix, parent)
    try:
        yield path
    finally:
        remove(path)


def remove_path(path: str | os.PathLike) -> None:
    """Remove a file, link or directory tree, even one with read-only dirs.

    A tree holding directories owned by the sub-ids of a ``--fakeroot``
    build (a Debian image's ``_apt`` 0700 dirs) cannot be removed by its
    unprivileged owner directly: it is removed the way it was made, inside a
    user namespace with the caller's sub-id map (``unshare --map-auto
    --map-root-user rm -rf``).  Raises OSError when that fails too.
    """
    path = Path(path)
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
        return
    if not path.exists():
        return

    def _onerror(func, p, _exc):  # make parents writable, then retry once
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(p), 0o700)
            if os.path.isdir(p) and not os.path.islink(p):
                os.chmod(p, 0o700)
        if func in (os.rmdir, os.unlink, os.remove):
            func(p)
        elif os.path.isdir(p) and not os.path.islink(p):
            shutil.rmtree(p)  # it could not be opened or listed: once more, raising
        else:
            os.unlink(p)

    try:
        shutil.rmtree(path, onerror=_onerror)
    except OSError:
        if os.geteuid() == 0 or not _remove_in_userns(path):
            raise


def _remove_in_userns(path: Path) -> bool:
    """``rm -rf`` as root of a user namespace mapping our sub-ids; True when it is gone."""
    from scitex_container.process import runner

    with contextlib.suppress(Exception):
        runner.run(
            ["unshare", "--map-auto", "--map-root-user", "rm", "-rf", "--", os.fspath(path)],
            check=False,
        )
    return not os.path.lexists(path)
