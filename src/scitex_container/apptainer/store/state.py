"""The store's own hidden folder, ``<store>/.scitex/``: file locks and build scratch.

Everything the store keeps for itself lives here, apart from the versions
and their sidecars: the advisory locks (``store.flock``, ``build.<link
name>.flock``: never ``*.lock``, which is the name of package locks) and
the per-build scratch directories apptainer gets as its temporary space
(``tmp/<build id>``).  Reading commands create nothing: the folder is
made only by a command that changes the store, and only inside an existing
store directory.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from scitex_container.apptainer.store import access, guard
from scitex_container.errors import NotFoundError, StoreError
from scitex_container.files import temporaries
from scitex_container.files.fsutil import remove_path
from scitex_container.process import runner

STATE_DIR = guard.STATE_DIR
STORE_LOCK = "store.flock"

_locks: dict[str, FileLock] = {}


def build_lock_name(active: str) -> str:
    return f"build.{active}.flock"


def state_dir(store_dir: Path) -> Path:
    return store_dir / STATE_DIR


def lock_path(store_dir: Path, name: str) -> Path:
    """Where the lock ``name`` of ``store_dir`` lives (created only when taken)."""
    if os.access(store_dir, os.W_OK):
        return state_dir(store_dir) / name
    # A directory we cannot write to (a sudo-only target): lock beside us instead.
    digest = hashlib.sha256(os.fsencode(os.path.realpath(store_dir)) + name.encode()).hexdigest()
    home = Path(tempfile.gettempdir()) / f"scitex-container-locks-{os.geteuid()}"
    return home / f"{digest[:32]}.flock"


def _lock_for(path: Path, timeout: float) -> FileLock:
    key = os.fspath(path)
    lock = _locks.get(key)
    if lock is None:
        lock = _locks[key] = FileLock(key, timeout=timeout)
    return lock


def state_mode(store_dir: Path) -> int:
    """The mode ``.scitex/`` is made with: the store's own read and search bits.

    It holds lock files and the build scratch (``tmp/``, kept 0700), no
    secret: whoever can read the store can read it, so reading commands work
    for every user the store lets in (the umask still applies).
    """
    try:
        return 0o700 | (os.stat(store_dir).st_mode & 0o055)
    except OSError:
        return 0o755


def make_state_dir(store_dir: Path) -> Path:
    """``<store>/.scitex/`` (made with :func:`state_mode` when absent)."""
    state = state_dir(store_dir)
    state.mkdir(mode=state_mode(store_dir), exist_ok=True)
    return state


def is_held(store_dir: Path, name: str) -> bool:
    """Does some process hold lock ``name`` right now? (Never creates the folder.)

    A lock this user cannot even see (a store made before ``.scitex/`` was
    readable) is taken as not held: a reader waits for nobody.
    """
    path = lock_path(store_dir, name)
    try:
        if not path.exists():
            return False
    except PermissionError:
        return False
    probe = FileLock(os.fspath(path), timeout=0, is_singleton=False)
    try:
        probe.acquire(timeout=0)
    except Timeout:
        return True
    except OSError:
        return False
    probe.release()
    return False


@contextlib.contextmanager
def hold(
    store_dir: Path, name: str, what: str, timeout: float, sudo: bool | None = None
) -> Iterator[None]:
    """Hold lock ``name`` of the store (in a dry run: only refuse who could not).

    A caller who cannot write the store is refused first, in a dry run too
    (:func:`.access.require_writable`; ``sudo`` as there).
    """
    access.require_writable(store_dir, sudo)
    if runner.is_dry_run():
        yield
        return
    if not store_dir.is_dir():
        raise NotFoundError("the store directory does not exist", str(store_dir))
    guard.check_state(store_dir)  # no lock through a planted link
    path = lock_path(store_dir, name)
    if path.parent == state_dir(store_dir):
        make_state_dir(store_dir)
    else:
        path.parent.mkdir(mode=0o700, exist_ok=True)
    lock = _lock_for(path, timeout)
    try:
        lock.acquire(timeout=timeout)
    except Timeout:
        raise StoreError(
            f"{what} of {store_dir} is held by another command (waited {timeout:.0f}s)"
        ) from None
    try:
        yield
    finally:
        lock.release()


# --- build scratch: apptainer's temporary space, owned by the store ---------------


@contextlib.contextmanager
def build_scratch(store_dir: Path, artifact: str | None = None) -> Iterator[Path]:
    """A fresh ``.scitex/tmp/<pid>-<ns>[-<artifact>]`` directory for one build.

    ``artifact`` names the version being built, so whoever sweeps the
    scratch of a killed build also knows which sidecars (its log) it left.
    The directory is removed on every way out, including an interrupt that
    lands while it is being made or removed: it is a registered temporary
    (:mod:`scitex_container.files.temporaries`) from before it exists until it
    is gone.
    """
    guard.check_state(store_dir)  # apptainer writes here: never through a link
    root = state_dir(store_dir) / "tmp"
    name = f"{os.getpid()}-{time.time_ns()}" + (f"-{artifact}" if artifact else "")
    path = temporaries.track(root / name)
    try:
        _make_scratch(root, path)
        yield path
    finally:
        release_scratch(path)
        if not os.path.lexists(path):
            temporaries.forget(path)


def _make_scratch(root: Path, path: Path) -> None:
    for _ in range(5):  # another build's release_scratch may remove an empty root meanwhile
        root.parent.parent.mkdir(parents=True, exist_ok=True)
        make_state_dir(root.parent.parent)
        root.mkdir(mode=0o700, exist_ok=True)  # scratch: apptainer's files, the builder's only
        try:
            path.mkdir(mode=0o700)
        except FileNotFoundError:
            continue
        return
    path.mkdir(mode=0o700)  # raises the error


def release_scratch(scratch: Path) -> None:
    """Remove one build's scratch, and the hidden folders it needed if now empty.

    A plain output directory (not a store) keeps nothing of ours afterwards;
    a store's ``.scitex/`` stays while it holds its lock files.  A process of
    the build killed a moment ago may still be writing into it, so a removal
    that meets a directory that is not yet empty is retried briefly.
    """
    for attempt in range(_RELEASE_TRIES):
        try:
            remove_scratch(scratch)
            break
        except OSError:
            if attempt == _RELEASE_TRIES - 1:
                return  # swept by the store's next command (the pid is gone)
            time.sleep(0.1)
    for folder in (scratch.parent, scratch.parent.parent):
        try:
            folder.rmdir()
        except FileNotFoundError:
            continue  # never made (interrupted between the two mkdirs)
        except OSError:
            return  # not empty (another build, the store's locks)


_RELEASE_TRIES = 5

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def remove_scratch(scratch: Path) -> None:
    """Remove ``<store>/.scitex/tmp/<name>`` (``scratch``), never through a link.

    On another user's store (root's case, where permissions stop nothing)
    the folders on the way are opened without following links and the tree
    is removed relative to them (``rmtree(dir_fd=)``): a ``.scitex`` or
    ``tmp`` swapped for a link after the guard looked makes the removal
    fail, never reach outside.  Otherwise (our own store) by path, which
    also copes with read-only folders apptainer leaves.
    """
    store_dir = scratch.parent.parent.parent
    try:
        foreign = os.stat(store_dir).st_uid != os.geteuid()
    except FileNotFoundError:
        return
    if not foreign:
        remove_path(scratch)
        return
    import shutil

    fds: list[int] = []
    try:
        fds.append(os.open(store_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC))
        fds.append(os.open(STATE_DIR, _DIR_FLAGS, dir_fd=fds[-1]))
        fds.append(os.open("tmp", _DIR_FLAGS, dir_fd=fds[-1]))
        st = os.stat(scratch.name, dir_fd=fds[-1], follow_symlinks=False)
        if stat.S_ISDIR(st.st_mode):
            shutil.rmtree(scratch.name, dir_fd=fds[-1])
        else:
            os.unlink(scratch.name, dir_fd=fds[-1])
    except FileNotFoundError:
        return
    finally:
        for fd in reversed(fds):
            os.close(fd)


def pid_alive(pid: int) -> bool:
    """Is process ``pid`` still there (another user's counts as alive)?"""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def scratch_artifact(scratch: Path) -> str | None:
    """The name of the version a scratch directory was made for (None if not recorded)."""
    parts = scratch.name.split("-", 2)
    return parts[2] if len(parts) == 3 and parts[2] else None


def stale_scratch(store_dir: Path) -> list[Path]:
    """Scratch directories whose build process is gone (a SIGKILL left them)."""
    root = state_dir(store_dir) / "tmp"
    try:
        names = os.listdir(root)
    except OSError:
        return []
    out = []
    for name in sorted(names):
        pid, _, _ = name.partition("-")
        if pid.isdigit() and not pid_alive(int(pid)):
            out.append(root / name)
    return out


def discard_state(store_dir: Path) -> None:
    """Empty the state folder of a store a refused command has just made.

    Only lock files and empty folders are removed (never a link, never
    anything else), so :func:`..files.fsutil.made_dirs` can then remove the
    store directory it made.
    """
    state = state_dir(store_dir)
    if state.is_symlink() or not state.is_dir():
        return
    for entry in os.scandir(state):
        with contextlib.suppress(OSError):
            if entry.is_file(follow_symlinks=False) and entry.name.endswith(".flock"):
                os.unlink(entry.path)
            elif entry.is_dir(follow_symlinks=False):
                os.rmdir(entry.path)
    with contextlib.suppress(OSError):
        state.rmdir()
