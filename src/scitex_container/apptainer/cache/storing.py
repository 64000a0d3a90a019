"""Storing an entry while the next stage builds.

Hashing a stage's root fs and reading its lock (:func:`.entry_record.entry_record`)
only read it, and so does ``apptainer build`` of the next stage, which
copies it as its ``Bootstrap: localimage`` base.  :class:`Storing` makes the
record in a worker thread while the main thread runs that next build, then
commits the entry (rename into place) once the build has copied it: the
digest costs a cold build little more than the time it waits for it.  The
stage being stored stays a registered temporary until committed, so a
signal or SIGKILL still leaves no entry half made; :meth:`Storing.close`
drops a record still pending.
"""

from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path

from scitex_container.apptainer.cache.entries import Entry, StageCache
from scitex_container.apptainer.cache.entry_record import entry_record


class Storing:
    """At most one entry being recorded in the background, then committed."""

    def __init__(self, cache: StageCache) -> None:
        self.cache = cache
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="stage-digest")
        self._pending: tuple[Path, Future[dict]] | None = None

    @property
    def rootfs(self) -> Path | None:
        """The root fs of the entry being stored (the base of the next stage), if any."""
        return self._pending[0] / "rootfs" if self._pending is not None else None

    def start(
        self, work: Path, key: str, stage: str, network: bool, since: float | None = None
    ) -> None:
        """Record ``work`` in the background (commit the one before first)."""
        assert self._pending is None, "commit the pending entry first"
        job = self._pool.submit(entry_record, work, key, stage, network, since)
        self._pending = (work, job)

    def commit(self, timeout: float | None = None) -> tuple[Entry, float] | None:
        """Wait for the pending record (at most ``timeout`` seconds: then it stays pending,
        for :meth:`close` to drop), move the entry into place; with the seconds it took here
        (None: nothing committed)."""
        if self._pending is None:
            return None
        work, future = self._pending
        if timeout is not None:
            done, _ = wait([future], timeout=timeout)
            if not done:
                return None
        self._pending = None
        began = time.monotonic()
        try:
            record = future.result()
        except OSError as exc:  # a tree that cannot be read whole: store nothing, build on
            self.cache.discard(work)
            self.cache.notes.append(
                f"stage {work.name} not stored: {exc.filename or 'it'}: {exc.strerror} (a tree "
                "unreadable even in your user namespace, or a full cache file system)"
            )
            return None
        except BaseException:
            self.cache.discard(work)
            raise
        try:
            return self.cache.commit(work, record), time.monotonic() - began
        except PermissionError as exc:  # another user's entry holds the key: left in place
            self.cache.discard(work)
            self.cache.notes.append(f"stage {record['stage']} not stored: {exc.strerror}")
            return None

    def close(self) -> None:
        """Drop a record still pending (its stage is removed) and stop the worker."""
        if self._pending is not None:
            work, future = self._pending
            self._pending = None
            future.cancel()
            self.cache.discard(work)  # a worker still reading it fails harmlessly
        self._pool.shutdown(wait=False, cancel_futures=True)
