"""The package's one sha256 cache: file digests keyed by what a change must touch.

An entry is keyed by the file's path and ``(size, mtime_ns, ctime_ns,
inode, device)``, as git's index does: restoring a file's mtime after
changing it (``touch -d``, ``os.utime``) still moves its ctime, which no
user can set, so a rewritten file is never served an old digest.  A file
whose ctime is within :data:`RACY_NS` of the moment it was hashed may still
change within the same timestamp tick; it is hashed but not cached.

The cache is only a fast path.  The digest a store records when it
publishes a version lives in the version's metadata and is never replaced
by this cache (see :mod:`scitex_container.apptainer.store.metadata`).

Entries live in one JSON file under the user's cache directory, written
atomically (not fsynced: after a power cut it may be old or unreadable,
and the stat key still guards every entry) and never in a dry run; a cache
that cannot be read or written only costs speed.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from scitex_container import envvars
from scitex_container.files.fsutil import atomic_write_text, sha256_file
from scitex_container.process import runner

#: A file changed this recently (by ctime) may change again unnoticed in the same tick.
RACY_NS = 20_000_000
_MAX_ENTRIES = 50_000


#: Told ``(path, size)`` before a file is hashed (not served from the cache): a caller's
#: progress display; set with :func:`observe_hashing`.
_OBSERVER: contextvars.ContextVar[Callable[[str, int], None] | None] = contextvars.ContextVar(
    "scitex_hashing_observer", default=None
)


@contextlib.contextmanager
def observe_hashing(callback: Callable[[str, int], None]) -> Iterator[None]:
    """Within the block, ``callback(path, size)`` before each file the cache must hash."""
    token = _OBSERVER.set(callback)
    try:
        yield
    finally:
        _OBSERVER.reset(token)


def cache_file() -> Path:
    root = envvars.user_cache_dir()
    return Path(root) / "scitex-container" / "content-hashes.json"


def stat_key(st: os.stat_result) -> list[int]:
    """What an entry is keyed by (besides the path)."""
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


class DigestCache:
    """sha256 of files, served from the cache while their stat key is unchanged."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or cache_file()
        self._data: dict[str, list] | None = None
        self._dirty = False

    def _load(self) -> dict[str, list]:
        if self._data is None:
            try:
                data = json.loads(self.path.read_text())
                self._data = data if isinstance(data, dict) else {}
            except (OSError, ValueError):
                self._data = {}
        return self._data

    def lookup(self, path: str | os.PathLike, st: os.stat_result) -> str | None:
        hit = self._load().get(os.fspath(path))
        key = stat_key(st)
        if isinstance(hit, list) and len(hit) == len(key) + 1 and hit[: len(key)] == key:
            return str(hit[-1])
        return None

    def remember(
        self, path: str | os.PathLike, st: os.stat_result, digest: str, *, started_ns: int
    ) -> None:
        """Keep ``digest`` unless the file changed too close to ``started_ns``."""
        if started_ns - st.st_ctime_ns < RACY_NS:
            return
        self._load()[os.fspath(path)] = [*stat_key(st), digest]
        self._dirty = True

    def file_sha256(self, path: str | os.PathLike, st: os.stat_result | None = None) -> str:
        """The digest of ``path`` (``st`` its stat, when the caller has it)."""
        st = st if st is not None else os.stat(path)
        cached = self.lookup(path, st)
        if cached is not None:
            return cached
        observer = _OBSERVER.get()
        if observer is not None:
            observer(os.fspath(path), st.st_size)
        started = time.time_ns()
        digest = sha256_file(path)
        self.remember(path, st, digest, started_ns=started)
        return digest

    def save(self) -> None:
        if not self._dirty or self._data is None or runner.is_dry_run():
            return
        data = self._data
        if len(data) > _MAX_ENTRIES:
            data = dict(list(data.items())[-_MAX_ENTRIES:])
        try:  # not fsynced: a cache lost in a power cut only costs a re-hash
            atomic_write_text(self.path, json.dumps(data, sort_keys=True), durable=False)
        except OSError:
            return  # a cache we cannot write only costs speed
        self._dirty = False


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 of one file through the shared cache (saved at once)."""
    cache = DigestCache()
    try:
        return cache.file_sha256(path)
    finally:
        cache.save()
