"""The one versioned-artifact store: every version of an image in one directory.

A store is a directory plus a :class:`~.naming.Scheme`.  Versions are SIF
files or sandbox directories named by the scheme; the active one is a
relative symlink (``current.sif``, ``<name>.sif``, ``current-sandbox``).

Invariants, kept across crashes and concurrent commands:

* a version appears under its name only when complete (it is built or
  copied under a hidden temporary name and renamed into place);
* the active link is replaced by renaming a temporary link over it, so it always
  points at some complete version, and a failed switch leaves it as it was;
* every change (publish, switch, rollback, cleanup, stale-temp removal)
  holds the store's advisory lock, so concurrent commands serialize;
* cleanup never removes the active version, base images, or versions with
  a keep marker (``<artifact>.keep``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from scitex_container import errors
from scitex_container.apptainer.sif.header import has_sif_magic
from scitex_container.apptainer.signing.policy import require_signature
from scitex_container.apptainer.store import gc as store_gc
from scitex_container.apptainer.store import link as store_link
from scitex_container.apptainer.store import state
from scitex_container.apptainer.store.metadata import (
    VersionMeta,
    created_time,
    read_metadata,
    remember_digest,
    write_sidecars,
)
from scitex_container.apptainer.store.naming import (
    SANDBOX,
    Scheme,
    format_date,
    human_size,
    stamp_time,
    timestamp,
    version_key,
)
from scitex_container.apptainer.store.sidecars import (
    KEEP_SUFFIX,
    SIDECAR_SUFFIXES,
    existing_sidecars,
    name_taken,
    sidecar,
)
from scitex_container.errors import BadInputError, MetadataError, NotFoundError, StoreError
from scitex_container.files import temporaries
from scitex_container.files.fsutil import atomic_symlink, fsync_dir, temp_path
from scitex_container.process import runner
from scitex_container.result import Result

LOCK_TIMEOUT = 900.0


@dataclass(frozen=True)
class Version(Result):
    """One version in a store."""

    version: str
    path: Path
    size_bytes: int | None  #: ``None`` for sandbox directories
    mtime: float  #: when it was made (a sandbox: as recorded, :func:`created_time`)
    active: bool
    protected: bool

    def row(self) -> dict:
        """The reference's dict (version, path, size, date, active) plus ours."""
        return {
            "version": self.version,
            "path": str(self.path),
            "size": human_size(self.size_bytes),
            "size_bytes": self.size_bytes,
            "date": format_date(self.mtime),
            "active": self.active,
            "protected": self.protected,
        }


class Store:
    """Versions of one artifact in ``directory``, named by ``scheme``."""

    def __init__(self, directory: str | os.PathLike, scheme: Scheme) -> None:
        self.dir = Path(os.path.normpath(Path(directory).absolute()))  # printed without ../
        self.scheme = scheme

    def __repr__(self) -> str:
        return f"Store({str(self.dir)!r}, {self.scheme.prefix}*{self.scheme.suffix})"

    # -- names ----------------------------------------------------------------
    @property
    def link(self) -> Path:
        """The active link."""
        return self.dir / self.scheme.active

    def path_of(self, version: str) -> Path:
        return self.dir / self.scheme.name_of(version)

    def temp_name(self, final: Path, kind: str = "building") -> Path:
        """A hidden temporary beside ``final`` that stale-cleanup can attribute to us."""
        return final.with_name(f".{final.name}.{os.getpid()}.{time.time_ns()}.{kind}")

    # -- reading (no lock: every name seen is complete) ---------------------------
    def _is_kind(self, entry: os.DirEntry) -> bool:
        try:
            if self.scheme.kind == SANDBOX:
                return entry.is_dir(follow_symlinks=False)
            return entry.is_file(follow_symlinks=False)
        except OSError:
            return False

    def _scan(self) -> list[tuple[str, Path, os.stat_result]]:
        out = []
        try:
            it = os.scandir(self.dir)
        except FileNotFoundError:
            return []
        with it:
            for entry in it:
                version = self.scheme.version_of(entry.name)
                if version is None or not self._is_kind(entry):
                    continue
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue  # removed while we looked
                out.append((version, Path(entry.path), st))
        return out

    def active_version(self) -> str | None:
        """The version the active link points at, or None (no link, or dangling)."""
        try:
            target = os.readlink(self.link)
        except OSError:
            return None
        target = target.rstrip("/")
        parent = os.path.dirname(target)
        if parent and os.path.realpath(os.path.join(self.dir, parent)) != os.path.realpath(
            self.dir
        ):
            return None  # points into another directory: not one of our versions
        version = self.scheme.version_of(os.path.basename(target))
        if version is None or not os.path.exists(self.link):
            return None
        return version

    def active_path(self) -> Path | None:
        """The real path of the active version."""
        version = self.active_version()
        return self.path_of(version) if version is not None else None

    def versions(self) -> list[Version]:
        """Every version, newest first (in version order, not by date)."""
        active, box = self.active_version(), self.scheme.kind == SANDBOX
        rows = [
            Version(
                version=v,
                path=p,
                size_bytes=None if box else st.st_size,
                mtime=created_time(p, v, st.st_mtime) if box else st.st_mtime,
                active=v == active,
                protected=os.path.lexists(sidecar(p, KEEP_SUFFIX)),
            )
            for v, p, st in self._scan()
        ]
        rows.sort(key=lambda r: self.order_key(r.version), reverse=True)
        return rows

    def order_key(self, version: str) -> tuple:
        """Sort key of ``version``: a timestamp version by its recorded build time."""
        if stamp_time(version) is None:
            return version_key(version)
        try:
            meta = read_metadata(self.path_of(version))
        except MetadataError:
            meta = None
        when = meta.built_at if meta is not None else None
        return version_key(version, when.timestamp() if when is not None else None)

    def version_names(self) -> list[str]:
        """Version strings, oldest first (timestamps by recorded build time)."""
        return sorted((v for v, _, _ in self._scan()), key=self.order_key)

    def get(self, version: str) -> Version:
        for row in self.versions():
            if row.version == version:
                return row
        available = ", ".join(reversed(self.version_names())) or "none"
        raise NotFoundError(
            f"`{version}` not found in {self.dir} (available: {available})", "version"
        )

    def bases(self) -> list[Path]:
        """Base images in the directory, oldest first."""
        if not self.scheme.base_glob:
            return []
        prefix = self.scheme.base_glob.split("*")[0]
        found = [
            p for p in self.dir.glob(self.scheme.base_glob) if p.is_file() and not p.is_symlink()
        ]
        return sorted(found, key=lambda p: version_key(p.name[len(prefix) :]))

    # -- locking (in the hidden state folder, see :mod:`.state`) ----------------
    def lock(self, timeout: float = LOCK_TIMEOUT, sudo: bool | None = None):
        """The store lock: held by every change (``sudo``: see :mod:`.access`)."""
        return state.hold(self.dir, state.STORE_LOCK, "the store lock", timeout, sudo)

    def build_lock(self, timeout: float = 4 * 3600.0):
        """Serializes builds of this artifact (not switches: those take :meth:`lock`)."""
        name = state.build_lock_name(self.scheme.active)
        return state.hold(self.dir, name, "the build lock", timeout)

    def link_problem(self) -> str | None:
        """One line about the active link when it is not a link to a version, else None."""
        return store_link.link_problem(self.link, self.dir, self.scheme)

    def building(self) -> bool:
        """Is a build of this artifact running right now (its build lock held)?"""
        return state.is_held(self.dir, state.build_lock_name(self.scheme.active))

    # -- changing -------------------------------------------------------------
    def new_version(self) -> str:
        """A fresh timestamp version (``-2``, ``-3``... when one this second exists).

        A name whose sidecars are still there (a failed build's log) is
        taken too: a new build never overwrites another build's evidence.
        """
        base = timestamp(utc=self.scheme.utc_names)
        version, n = base, 1
        while name_taken(self.path_of(version)):
            n += 1
            version = f"{base}-{n}"
        return version

    def switch(self, version: str, *, use_sudo: bool = False) -> Version:
        """Point the active link at ``version`` atomically.

        A SIF version that is empty or lacks the SIF magic is refused
        (BadInputError naming it): it could only fail when run.
        """
        with self.lock(sudo=use_sudo):
            row = self.get(version)
            if self.scheme.kind != SANDBOX and not has_sif_magic(row.path):
                what = "is empty" if row.size_bytes == 0 else "is not a SIF image (no SIF magic)"
                raise BadInputError(
                    f"version {version} {what}; refusing to make it active", str(row.path)
                )
            if self.scheme.kind != SANDBOX:  # the site policy's gate (signing/policy.py)
                require_signature("switch", row.path)
            if not row.active:  # already active: nothing to write
                self.set_link(self.scheme.name_of(version), use_sudo)
        return Version(row.version, row.path, row.size_bytes, row.mtime, True, row.protected)

    def check_link_path(self) -> None:
        """Refuse (BadInputError naming it) a file or directory at the link path: it is not ours."""
        store_link.check_link_path(self.link)

    def set_link(self, target: str, use_sudo: bool = False) -> None:
        """Point the active link at the entry ``target`` (caller holds the lock)."""
        self.check_link_path()
        if runner.is_dry_run():
            if use_sudo and os.geteuid() != 0:
                runner.run(runner.with_sudo(["ln", "-sfn", "--", target, str(self.link)], True))
            return
        if use_sudo and os.geteuid() != 0 and not os.access(self.dir, os.W_OK):
            tmp = temp_path(self.link, suffix=".link")
            runner.run(runner.with_sudo(["ln", "-s", "--", target, str(tmp)], True))
            runner.run(runner.with_sudo(["mv", "-Tf", "--", str(tmp), str(self.link)], True))
            return
        atomic_symlink(target, self.link)

    def rollback(self, *, use_sudo: bool = False) -> str:
        """Switch to the version just before the active one, in version order."""
        need = (self.link, self.dir, self.scheme)  # refused before the lock too: no .scitex/
        if use_sudo or os.access(self.dir, os.W_OK):  # (else the lock says "permission denied")
            store_link.require_active(self.active_version(), *need)
        with self.lock(sudo=use_sudo):
            active = store_link.require_active(self.active_version(), *need)
            key = self.order_key(active)
            older = [v for v in self.version_names() if self.order_key(v) < key]
            if not older:
                none = f"no version older than {active} in {self.dir} to roll back to"
                raise errors.StoreStateError(none)
            self.switch(older[-1], use_sudo=use_sudo)
            return older[-1]

    def publish(
        self,
        tmp: Path,
        final: Path,
        *,
        meta: VersionMeta | None = None,
        sidecars: Mapping[str, str] | None = None,
        activate: bool = True,
        use_sudo: bool = False,
    ) -> Path:
        """Rename the finished temporary ``tmp`` to the version ``final``; make it active.

        Under the store lock, before the rename: ``meta`` is written as the
        version's metadata (its ``sha256`` is the recorded digest, written
        once) and each ``sidecars`` entry (suffix -> text) beside it.
        """
        version = self.scheme.version_of(final.name)
        if version is None or final.parent != self.dir:
            raise StoreError(f"{final} is not a version name of {self!r}")
        with self.lock():
            if os.path.lexists(final):
                raise StoreError(f"version {version} already exists in {self.dir}")
            writable = os.access(self.dir, os.W_OK)
            written = write_sidecars(final, meta if writable else None, sidecars)
            if use_sudo and os.geteuid() != 0 and not writable:
                runner.run(runner.with_sudo(["mv", "-T", "--", str(tmp), str(final)], True))
            else:
                os.rename(tmp, final)
                fsync_dir(self.dir)
                if meta is not None and meta.sha256 and final.is_file():
                    remember_digest(final, meta.sha256)
            temporaries.forget(*written)  # (harmless if an interrupt skips it: ``unless``)
            if activate:
                self.set_link(final.name, use_sudo)
        return final

    def protect(self, version: str, keep: bool = True) -> Path:
        """Add (or remove) the keep marker that shields a version from cleanup."""
        with self.lock():
            marker = sidecar(self.get(version).path, KEEP_SUFFIX)
            if not runner.is_dry_run():
                if keep:
                    marker.touch()
                else:
                    marker.unlink(missing_ok=True)
        return marker

    def remove(self, path: Path) -> None:
        """Remove one version and its sidecars (caller holds the lock).

        The version is first renamed to a hidden name, so a half-removed
        sandbox is never listed.
        """
        doomed = temporaries.track(path.with_name(f".{path.name}.{time.time_ns()}.removing"))
        os.rename(path, doomed)
        fsync_dir(self.dir)
        for suffix in SIDECAR_SUFFIXES:
            sidecar(path, suffix).unlink(missing_ok=True)
        temporaries.remove(doomed)

    def cleanup(
        self, keep: int = 3, *, remove_active: bool = False, force: bool = False
    ) -> list[Path]:
        """Remove all but the ``keep`` newest versions; return what was removed.

        ``keep`` counts the newest versions whatever they are (the active
        one among them, as the reference's "keeping the N most recent").
        Beyond them, the active version (unless ``remove_active``, which
        also drops the link) and protected versions stay too, and base
        images are never versions; a removed version's sidecars are listed
        after it.  What killed commands left (temporaries, build scratch,
        orphan sidecars) is removed and returned too.  When the active link
        is missing, dangling or elsewhere: StoreStateError (exit 2, naming why)
        before any version is removed, unless ``force``.  A dry run removes nothing.
        """
        if keep < 0:
            raise BadInputError("keep must be 0 or more", "keep")
        removed: list[Path] = []
        with self.lock():
            removed += self.remove_stale()
            removed += self.remove_orphan_sidecars()
            doomed = [
                row
                for row in self.versions()[keep:]
                if not (row.protected or (row.active and not remove_active))
            ]
            unknown = self.active_version() is None or self.link_problem() is not None
            if doomed and not (force or remove_active) and unknown:
                why = store_link.unknown_active(self.link, self.dir, self.scheme)
                raise errors.StoreStateError(why)
            if runner.is_dry_run():  # every path that goes: the version and its sidecars
                return removed + [p for r in doomed for p in (r.path, *existing_sidecars(r.path))]
            if any(row.active for row in doomed):
                self.link.unlink(missing_ok=True)  # never leave the link dangling
                fsync_dir(self.dir)
            store_gc.remove_each([r.path for r in doomed], self.remove, removed, existing_sidecars)
        return removed

    def remove_orphan_sidecars(self) -> list[Path]:
        """Remove sidecars whose version does not exist (caller holds the lock)."""
        return store_gc.remove_orphan_sidecars(self.dir, self.scheme, self.building())

    def remove_stale(self) -> list[Path]:
        """Remove temporaries left by killed commands (caller holds the lock)."""
        return store_gc.remove_stale(self.dir, self.scheme)
