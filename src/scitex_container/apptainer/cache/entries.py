"""The stage cache on disk: content-addressed root file systems.

Layout of a cache directory (one per user under the XDG cache dir by
default, or one per store)::

    <root>/entries/<key>/rootfs/      the stage's root fs (a sandbox directory)
    <root>/entries/<key>/entry.json   key, stage, made, network, size, digest
    <root>/entries/<key>/used         its mtime is the last reuse (LRU)
    <root>/tmp/                       entries being made (never read as entries)
    <root>/unremovable/               what could not be removed, moved aside (:mod:`.stuck`)
    <root>/.lock                      held while the cache's contents change

An entry is made under ``tmp/`` and renamed into ``entries/`` only once its
root fs and record are complete, so a build killed at any point (SIGKILL
included) leaves at most a temporary, which the next use of the cache
removes once its process is gone.  Before reuse the root fs is hashed again
and compared with the digest recorded when it was made; a mismatch, or a
record that cannot be read, makes the entry *corrupt*: it is removed and
reported, never used.  The directory is trusted only when it is owned by
the caller and not writable by others (:mod:`scitex_container.files.ownership`),
and so is each entry (its directory, root fs top and record): an entry that is not is
reported and never reused, removed only when it is all ours; so are the cache's ancestors
(:func:`~scitex_container.files.ownership.check_ancestors`).  A build holds every entry it
reuses until it ends (:mod:`.holds`): prune and eviction leave it in place.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import stat
import time
from collections.abc import Iterator
from pathlib import Path

from filelock import FileLock

from scitex_container.apptainer.cache import holds, stuck
from scitex_container.apptainer.cache.digest import tree_digest
from scitex_container.apptainer.cache.entry_record import Entry, Lookup, entry_record, parse_record
from scitex_container.apptainer.cache.leftovers import Leftover, scan, untrusted
from scitex_container.apptainer.cache.settings import (  # re-exported: callers import them here
    DEFAULT_MAX_AGE as DEFAULT_MAX_AGE,
)
from scitex_container.apptainer.cache.settings import (
    DEFAULT_MAX_BYTES as DEFAULT_MAX_BYTES,
)
from scitex_container.apptainer.cache.settings import default_max_bytes, default_root
from scitex_container.apptainer.cache.settings import (
    enabled_by_default as enabled_by_default,
)
from scitex_container.apptainer.cache.settings import parse_age as parse_age
from scitex_container.apptainer.cache.settings import parse_size as parse_size
from scitex_container.errors import BadInputError, PathKindError
from scitex_container.files import ownership, temporaries
from scitex_container.files.fsutil import atomic_write_text

_KEY_RE = re.compile(r"[0-9a-f]{64}\Z")
_LOCK_TIMEOUT = 600.0


class StageCache(holds.Holding):
    """A cache directory of stage entries."""

    def __init__(self, root: str | os.PathLike | None = None, *, max_bytes: int | None = None):
        self.root = (Path(root) if root is not None else default_root()).absolute()  # builds cd
        self.max_bytes = default_max_bytes() if max_bytes is None else max_bytes
        #: what went wrong but did not stop the cache (an entry it could not remove), once each
        self.notes: list[str] = []
        self._holds = {}
        if any(ch.isspace() for ch in os.fspath(self.root.absolute())):
            raise BadInputError("a stage cache path cannot contain whitespace", str(self.root))

    # -- trust and layout ---------------------------------------------------
    @property
    def entries_dir(self) -> Path:
        return self.root / "entries"

    @property
    def tmp_dir(self) -> Path:
        return self.root / "tmp"

    @property
    def stuck_dir(self) -> Path:
        """Where an entry that cannot be removed is moved aside (never read again)."""
        return self.root / "unremovable"

    def discard(self, path: Path) -> None:
        """Remove ``path`` (an entry or a temporary); one that cannot be removed is moved aside
        to :attr:`stuck_dir` and noted, so the cache stays usable."""
        try:
            temporaries.remove(path)
            return
        except OSError as exc:
            why = exc.strerror or type(exc).__name__
        with contextlib.suppress(FileExistsError):
            os.mkdir(self.stuck_dir, 0o700)
        dest = self.stuck_dir / f"{path.name.lstrip('.')}.{time.time_ns()}"
        try:
            os.rename(path, dest)
        except OSError:
            dest = path
        temporaries.forget(path)
        advice = stuck.advice(dest)
        self.notes.append(f"could not remove {path} ({why}); moved aside to {dest}: {advice}")

    def _rule(self) -> str:
        return "the stage cache must be owned by you and writable by no one else"

    def open(self, *, sweep: bool = True, create: bool = True) -> StageCache:
        """Create the directories (0700) if missing (our or root's link to the cache: its
        target); refuse one (or an ancestor) we cannot trust; sweep what killed builds left.
        ``create=False, sweep=False`` (a dry run, a listing) make and remove nothing."""
        self.root = ownership.follow_trusted(self.root) if self.root.is_symlink() else self.root
        ownership.check_ancestors(self.root, what="the stage cache")
        if create:
            self.root.parent.mkdir(parents=True, exist_ok=True)
            ownership.check_ancestors(self.root, what="the stage cache")
        for path in (self.root, self.entries_dir, self.tmp_dir):
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(path, 0o700)
            elif not os.path.lexists(path):
                continue
            ownership.check_trusted(path, directory=True, allow_root=False, rule=self._rule)
        if sweep:
            self.sweep()
        return self

    def exists(self) -> bool:
        """Whether the cache has an entries or a tmp directory (a link loop, no access: said)."""
        for path in (self.entries_dir, self.tmp_dir):
            try:
                st = os.stat(path)
            except FileNotFoundError:
                continue
            except OSError as exc:  # not "nothing to remove" when the cache cannot be read
                from scitex_container.files.pathinfo import from_oserror

                raise from_oserror(exc, path) from None
            if stat.S_ISDIR(st.st_mode):
                return True
        return False

    @contextlib.contextmanager
    def locked(self, *, dry_run: bool = False) -> Iterator[None]:
        """Hold the cache's lock (``dry_run``: a no-op, nothing, not even ``.lock``, made)."""
        if dry_run:
            yield
            return
        where = self.root / ".lock"
        if os.path.islink(where):
            raise PathKindError(f"{where}: is a symbolic link; refusing to lock through it")
        lock = FileLock(os.fspath(where), timeout=_LOCK_TIMEOUT, is_singleton=False)
        with lock:
            yield

    def leftovers(self, *, sizes: bool = True) -> list[Leftover]:
        """What builds left under ``tmp/`` (in progress ones included), oldest first."""
        return scan(self.tmp_dir, sizes=sizes)

    def sweep(self) -> list[Path]:
        """Remove entries-in-making whose process is gone (a SIGKILL left them), and others
        of ours (another namespace, a pid alive again) past a day (:mod:`.leftovers`)."""
        gone: list[Path] = []
        for left in self.leftovers(sizes=False):
            if left.sweepable():
                self.discard(left.path)
                gone.append(left.path)
        return gone

    # -- reading ------------------------------------------------------------
    def _read(self, key: str) -> Entry:
        path = self.entries_dir / key
        data = ownership.read_trusted(path / "entry.json", allow_root=False, rule=self._rule)
        raw = parse_record(data, key)
        try:
            used = os.lstat(path / "used").st_mtime  # a link's own time: never followed
        except FileNotFoundError:
            used = float(raw["made"])
        return Entry(
            key,
            raw["stage"],
            float(raw["made"]),
            raw["network"],
            raw["size"],
            raw["digest"],
            used,
            path,
            float(raw["network_since"]) if raw.get("network_since") is not None else None,
            bool(raw.get("xattrs", False)),
        )

    def read(self, key: str) -> Entry:
        """The entry ``key`` as recorded (not verified, not touched); raises if unreadable."""
        return self._read(key)

    def entries(self) -> list[Entry]:
        """Every entry, least recently used first: the one list ``cache list``, ``prune`` and
        eviction read.  An entry whose record cannot be read is listed too (stage
        ``unreadable record``, size 0, made and used at its directory's mtime): it is never
        reused, and prune and eviction remove it like any other."""
        out: list[Entry] = []
        with contextlib.suppress(FileNotFoundError):
            for name in sorted(os.listdir(self.entries_dir)):
                if _KEY_RE.match(name):
                    try:
                        out.append(self._read(name))
                    except Exception as exc:
                        with contextlib.suppress(OSError):
                            out.append(self._unreadable(name, exc))
        return sorted(out, key=lambda e: (e.used, e.key))

    def _unreadable(self, key: str, exc: Exception) -> Entry:
        path = self.entries_dir / key
        when = os.lstat(path).st_mtime
        why = f"unreadable record ({exc if type(exc) is ValueError else type(exc).__name__})"
        return Entry(key, why, when, True, 0, "", when, path)

    def lookup(self, key: str, *, max_age: float | None = None, verify: bool = True) -> Lookup:
        """The entry for ``key`` if it can be reused; a corrupt one is removed."""
        path = self.entries_dir / key
        if not os.path.lexists(path):
            return Lookup(None, "missing")
        distrust = untrusted(path)
        if distrust is not None:
            why, ours = distrust
            if ours:
                with contextlib.suppress(OSError):
                    self.remove(key)
            done = "removed" if ours and not os.path.lexists(path) else "left in place"
            self.notes.append(f"stage cache entry {key[:12]} not trusted ({done}): {why}")
            return Lookup(None, f"untrusted: {why} ({done})")
        if not self.hold(key):  # being removed (or its `used` is not a plain file)
            return Lookup(None, "missing")
        try:
            entry = self._read(key)
        except Exception as exc:
            said = str(exc) if type(exc) is ValueError else type(exc).__name__  # a lie: which
            self.notes.append(f"stage cache entry {key[:12]} corrupt (removed): {said}")
            self._removed(key)
            return Lookup(None, f"corrupt: unreadable record ({said})")
        if entry.network and max_age is not None and entry.network_age() > max_age:
            self.release(key)
            return Lookup(None, "expired")
        if verify:
            try:
                digest, _ = tree_digest(entry.rootfs)
            except OSError as exc:
                digest = f"unreadable ({exc.strerror})"
            if not entry.rootfs.is_dir() or digest != entry.digest:
                self._removed(key)
                return Lookup(None, "corrupt: root fs digest mismatch")
        self.touch(entry)
        return Lookup(entry, "hit")

    # -- writing ------------------------------------------------------------
    def making(self, key: str) -> Path:
        """A fresh directory to build an entry in (registered as a temporary)."""
        path = (
            self.tmp_dir
            / f".{key}.{os.getpid()}.{time.time_ns()}-{temporaries.namespace_tag()}.making"
        )
        temporaries.track(path)
        os.mkdir(path, 0o700)
        return path

    def publish(
        self,
        work: Path,
        key: str,
        stage: str,
        network: bool,
        since: float | None = None,
        *,
        hold: bool = False,
    ) -> Entry:
        """Record ``work/rootfs`` as the entry for ``key``, move it into place (and hold it)."""
        return self.commit(work, entry_record(work, key, stage, network, since), hold=hold)

    def commit(self, work: Path, record: dict, *, hold: bool = False) -> Entry:
        """Move ``work`` into place as the entry ``record`` (from :func:`entry_record`) says."""
        key = record["key"]
        text = json.dumps(record, sort_keys=True, allow_nan=False) + "\n"
        atomic_write_text(work / "entry.json", text, 0o600)
        (work / "used").touch(0o600)
        with self.locked():
            try:  # one there already (expired, or a concurrent build's): replaced
                self.remove(key)
            except BlockingIOError:  # held by a build: it stays, an equal one
                self.discard(work)
            else:
                os.rename(work, self.entries_dir / key)
                temporaries.forget(work)
            if hold:
                self.hold(key)
        entry = self._read(key)
        self.evict(keep=key)
        return entry

    def remove(self, key: str) -> None:
        """Remove an entry: renamed away first, so no reader sees half of it.  One that is
        not all ours (:func:`.leftovers.untrusted`) is left in place: PermissionError; one
        a build holds (:mod:`.holds`; this object's own hold is released first) too:
        BlockingIOError."""
        path = self.entries_dir / key
        self.release(key)
        if not os.path.lexists(path):
            return
        distrust = untrusted(path)
        if distrust is not None and not distrust[1]:
            raise PermissionError(
                errno.EPERM, f"another user's entry, left in place: {distrust[0]}", str(path)
            )
        doomed = (
            self.tmp_dir
            / f".{key}.{os.getpid()}.{time.time_ns()}-{temporaries.namespace_tag()}.making"
        )
        temporaries.track(doomed)
        try:
            with holds.exclusive(path):
                os.rename(path, doomed)
        except (FileNotFoundError, BlockingIOError):
            temporaries.forget(doomed)
            if os.path.lexists(path):
                raise
            return
        self.discard(doomed)

    def size(self) -> int:
        """Bytes of the entries, the leftovers of builds and what could not be removed."""
        aside = [x.size for x in self.leftovers()] + [x.size for x in stuck.scan(self.stuck_dir)]
        return sum(e.size for e in self.entries()) + sum(aside)

    def _removed(self, key: str) -> bool:
        try:
            self.remove(key)
            return True
        except (PermissionError, BlockingIOError) as exc:
            self.notes.append(f"{exc.filename}: {exc.strerror}")
            return False

    def evict(self, keep: str | None = None) -> list[Entry]:
        """Remove least recently used entries until the cache, leftovers of killed builds
        included, fits its size cap."""
        removed: list[Entry] = []
        with self.locked():
            entries = self.entries()
            total = sum(e.size for e in entries) + sum(x.size for x in self.leftovers())
            total += sum(x.size for x in stuck.scan(self.stuck_dir))
            for entry in entries:
                if total <= self.max_bytes:
                    break
                if entry.key == keep or entry.key in self._holds:
                    continue
                if not self._removed(entry.key):
                    continue
                total -= entry.size
                removed.append(entry)
        return removed

    def prune(
        self, *, older_than: float | None = None, everything: bool = False, dry_run: bool = False
    ) -> list[Entry]:
        """Remove every entry (``everything``) or those not used for ``older_than`` seconds.

        With ``dry_run`` nothing is removed: the entries that would be are returned (one a
        build holds is not: it would be left in place, and is noted either way).
        Leftovers of killed builds: :meth:`prune_leftovers`.
        """
        now = time.time()
        removed: list[Entry] = []
        with self.locked(dry_run=dry_run):
            for entry in self.entries():
                chosen = everything or (older_than is not None and now - entry.used > older_than)
                if chosen and dry_run and holds.in_use(entry.path):
                    self.notes.append(f"{entry.path}: {holds.IN_USE}")
                elif chosen and (dry_run or self._removed(entry.key)):
                    removed.append(entry)
        return removed

    def prune_leftovers(
        self, *, older_than: float | None = None, everything: bool = False, dry_run: bool = False
    ) -> list[Leftover]:
        """Remove the leftovers of killed builds we may (:meth:`.Leftover.removable`): every
        one (``everything``) or those untouched for ``older_than`` seconds, and what a
        build's own sweep would remove (:meth:`sweep`: counted here, dry run or not)."""
        now = time.time()
        removed: list[Leftover] = []
        with self.locked(dry_run=dry_run):
            for left in self.leftovers():
                old = older_than is not None and left.age(now) > older_than
                if ((everything or old) and left.removable(now)) or left.sweepable(now):
                    if not dry_run:
                        self.discard(left.path)
                    removed.append(left)
        return removed
