"""Per-version metadata: one typed record, kept as ``<artifact>.meta.json``.

:class:`VersionMeta` is what the build records (inputs hash, def snapshot,
apptainer version, start and duration), what provenance adds (lock hash
and counts) and the digest recorded when the version was published.  That
digest is written once, with the version, under the store lock; nothing
replaces it (:func:`update_metadata` refuses), so ``verify`` can tell a
tampered image from its record.  The fast path for the *current* digest is
the package's one digest cache (:mod:`scitex_container.files.digests`), which
never writes here: reading commands never rewrite metadata.

A metadata file that exists but cannot be read (empty, truncated, not a
JSON object, a field of the wrong type) raises :class:`MetadataError`
naming the file; it is never overwritten, and never read as "no metadata".
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from scitex_container.apptainer.store.sidecars import META_SUFFIX, sidecar
from scitex_container.errors import MetadataError, NotAFileError, StoreError
from scitex_container.files import temporaries
from scitex_container.files.digests import DigestCache
from scitex_container.files.fsutil import atomic_write_text
from scitex_container.files.ownership import follow_trusted, read_no_follow

SCHEMA = 1
#: Keys of older stores that are caches, not records: dropped on read.
_LEGACY_CACHE_KEYS = ("sha256_cache",)


@dataclass(frozen=True)
class VersionMeta:
    """What a store knows about one version (the ``.meta.json`` record)."""

    inputs_hash: str | None = None
    inputs: Mapping[str, Any] | None = None  #: def_sha256, files, images
    build_args: Mapping[str, str] = field(default_factory=dict)
    sandbox: bool = False
    image_name: str | None = None
    version: str | None = None
    def_path: str | None = None
    def_text: str | None = None
    source: str | None = None  #: what a sandbox was built from
    apptainer_version: str | None = None
    build_command: tuple[str, ...] = ()
    build_start: str | None = None  #: UTC, ISO 8601
    build_duration: float | None = None
    sha256: str | None = None  #: recorded at publish; never replaced
    lock_sha256: str | None = None
    lock_embedded: bool | None = None
    lock_counts: Mapping[str, int] | None = None
    lock_capture: str | None = None
    satisfies: tuple[str, ...] = ()  #: other inputs hashes this version stands for
    extra: Mapping[str, Any] = field(default_factory=dict)  #: keys of other writers

    @property
    def def_sha256(self) -> str | None:
        value = (self.inputs or {}).get("def_sha256") or self.extra.get("def_sha256")
        return value if isinstance(value, str) and value else None

    @property
    def built_at(self) -> datetime | None:
        """The recorded build start as an aware UTC datetime (None when absent)."""
        if not self.build_start:
            return None
        try:
            when = datetime.fromisoformat(self.build_start.replace("Z", "+00:00"))
        except ValueError:
            return None
        return when if when.tzinfo else when.replace(tzinfo=timezone.utc)

    def matches(self, inputs_hash: str) -> bool:
        """Was this version built from (or declared to satisfy) ``inputs_hash``?"""
        return inputs_hash == self.inputs_hash or inputs_hash in self.satisfies

    def with_(self, **changes: Any) -> VersionMeta:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.extra)
        for f in dataclasses.fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if value is None or (f.name == "satisfies" and not value):
                continue
            if isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, Mapping):
                value = dict(value)
            out[f.name] = value
        out["schema"] = SCHEMA
        return out

    @classmethod
    def from_dict(cls, data: Any, where: str = "metadata") -> VersionMeta:
        """Parse a metadata object; :class:`MetadataError` names ``where`` and the field."""
        if not isinstance(data, dict):
            raise MetadataError(f"not a JSON object (got {type(data).__name__})", where)
        known = {f.name: f for f in dataclasses.fields(cls) if f.name != "extra"}
        values: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in data.items():
            if key == "schema" or key in _LEGACY_CACHE_KEYS:
                continue
            if key not in known:
                extra[key] = value
                continue
            values[key] = _check(key, value, where)
        return cls(**values, extra=extra)


_STR = [
    "inputs_hash",
    "image_name",
    "version",
    "def_path",
    "def_text",
    "source",
    "apptainer_version",
    "build_start",
    "sha256",
    "lock_sha256",
    "lock_capture",
]


def _check(key: str, value: Any, where: str) -> Any:
    def bad(expected: str) -> MetadataError:
        return MetadataError(f"field `{key}` should be {expected}, got {value!r:.60}", where)

    if value is None:
        return None
    if key in _STR:
        if not isinstance(value, str):
            raise bad("a string")
        return value
    if key in ("sandbox", "lock_embedded"):
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if key == "build_duration":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad("a number")
        return float(value)
    if key in ("build_command", "satisfies"):
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise bad("a list of strings")
        return tuple(value)
    if key == "build_args":
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise bad("an object of strings")
        return dict(value)
    if not isinstance(value, dict):  # inputs, lock_counts
        raise bad("an object")
    return dict(value)


def metadata_path(artifact: str | Path) -> Path:
    return sidecar(Path(artifact), META_SUFFIX)


def _real(artifact: str | Path) -> Path:
    """Metadata belongs to the version, not to a link pointing at it (another
    user's link is followed only within its folder)."""
    return follow_trusted(artifact)


def read_metadata(artifact: str | Path) -> VersionMeta | None:
    """The metadata of ``artifact`` (links resolved); None when there is no file.

    Raises :class:`MetadataError` naming the file when it exists but is
    unreadable, empty, truncated or not a metadata object.
    """
    path = metadata_path(_real(artifact))
    try:
        text = read_no_follow(path).decode("utf-8")  # a planted link is never read through
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise MetadataError(f"cannot read the metadata: {reason}", str(path)) from None
    if not text.strip():
        raise MetadataError("the metadata file is empty", str(path))
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise MetadataError(f"the metadata is not valid JSON ({exc})", str(path)) from None
    meta = VersionMeta.from_dict(data, str(path))
    return settled(path.with_name(path.name[: -len(META_SUFFIX)]), meta, str(path))


#: Set while a rewrite (sign, sbom --embed) records a new digest before renaming the
#: new bytes in: the metadata as it was before (see :func:`settled`).
PENDING = "rewrite_pending"


def settled(real: Path, meta: VersionMeta, where: str = "") -> VersionMeta:
    """``meta`` with an interrupted rewrite resolved by the bytes on disk.

    A rewrite writes the new digest (with :data:`PENDING` holding the
    metadata as it was) before it renames the new bytes over the version,
    then drops :data:`PENDING`.  Killed in between, the bytes say which
    step happened: the new digest's bytes mean the rename was done (the new
    record stands), the old digest's bytes mean it was not (the old record
    stands, as if the rewrite never began).  Other bytes: the new record,
    which ``verify`` then reports as tampered.
    """
    pending = meta.extra.get(PENDING)
    if pending is None:
        return meta
    rest = {k: v for k, v in meta.extra.items() if k != PENDING}
    current = meta.with_(extra=rest)
    before = pending.get("before") if isinstance(pending, dict) else None
    if not isinstance(before, dict) or not before.get("sha256") or not real.is_file():
        return current
    try:
        actual = file_digest(real)  # the digest cache: settled again at the cost of a stat
    except OSError:
        return current
    if actual != meta.sha256 and actual == before["sha256"]:
        return VersionMeta.from_dict(before, where)
    return current


def created_time(artifact: str | Path, version: str, mtime: float) -> float:
    """When version ``version`` (at ``artifact``) was made, epoch seconds.

    Its record (build start plus duration), else the time its name stands
    for, else ``mtime``.  A sandbox needs this: apptainer gives the
    directory its source image's mtime, not the time the sandbox was made.
    """
    from scitex_container.apptainer.store.naming import stamp_time

    try:
        meta = read_metadata(artifact)
    except MetadataError:
        meta = None
    when = meta.built_at if meta is not None else None
    if when is not None and meta is not None:
        return when.timestamp() + (meta.build_duration or 0.0)
    named = stamp_time(version)
    return named if named is not None else mtime


def load_metadata(artifact: str | Path) -> dict[str, Any]:
    """The metadata of ``artifact`` as the stored dict (``{}`` when there is none)."""
    meta = read_metadata(artifact)
    return meta.to_dict() if meta is not None else {}


def metadata_error(artifact: str | Path) -> str | None:
    """The one-line reason the metadata of ``artifact`` is unreadable, else None."""
    try:
        read_metadata(artifact)
    except MetadataError as exc:
        return str(exc)
    return None


def _write(path: Path, meta: VersionMeta) -> VersionMeta:
    text = json.dumps(meta.to_dict(), indent=2, sort_keys=True) + "\n"
    atomic_write_text(path, text)
    return meta


def write_metadata(artifact: str | Path, meta: VersionMeta) -> VersionMeta:
    """Write the metadata of a new version beside ``artifact`` (no link resolved).

    Refuses to replace a file that is there and cannot be parsed.
    """
    path = metadata_path(artifact)
    if path.exists():
        read_metadata(artifact)  # raises on a corrupt file: it stays as it is
    return _write(path, meta)


def update_metadata(artifact: str | Path, **changes: Any) -> VersionMeta:
    """Change fields of an existing version's metadata (atomic; caller holds the lock).

    The recorded ``sha256`` is immutable: changing it raises StoreError.
    A corrupt file raises :class:`MetadataError` and is left untouched.
    """
    real = _real(artifact)
    meta = read_metadata(real) or VersionMeta()
    new = changes.get("sha256")
    if new is not None and meta.sha256 is not None and new != meta.sha256:
        raise StoreError(f"the recorded sha256 of {real} is immutable; refusing to replace it")
    return _write(metadata_path(real), meta.with_(**changes))


def rerecord_digest(
    artifact: str | Path,
    sha256: str,
    history_entry: Mapping[str, Any],
    *,
    remember: bool = True,
    **extra: Any,
) -> VersionMeta:
    """Replace the recorded sha256 as an explicit, recorded step (signing).

    The one exception to the immutable digest: ``history_entry`` (the
    previous digest, when and why it was replaced) is appended to the
    version's ``digest_history``; ``extra`` fields are merged in.  The
    caller holds the store lock.  A corrupt file is left untouched.
    ``remember=False``: the new bytes are not yet in place (the caller
    renames them in, then seeds the digest cache itself).
    """
    real = _real(artifact)
    meta = read_metadata(real) or VersionMeta()
    history = meta.extra.get("digest_history")
    history = (
        [*history, dict(history_entry)] if isinstance(history, list) else [dict(history_entry)]
    )
    new = meta.with_(sha256=sha256, extra={**meta.extra, **extra, "digest_history": history})
    if not remember:  # the bytes come after: the record as it was, until they are in place
        new = new.with_(extra={**new.extra, PENDING: {"before": meta.to_dict()}})
    _write(metadata_path(real), new)
    if remember:
        remember_digest(real, sha256)
    return new


def commit_rewrite(artifact: str | Path) -> None:
    """Drop :data:`PENDING` once the rewrite's bytes are in place (caller holds the lock)."""
    path = metadata_path(_real(artifact))
    data = json.loads(read_no_follow(path).decode("utf-8"))
    if isinstance(data, dict) and data.pop(PENDING, None) is not None:
        atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def file_digest(path: str | Path, cache: DigestCache | None = None) -> str:
    """The current sha256 of the file ``path`` through the digest cache."""
    own = cache is None
    cache = cache or DigestCache()
    try:
        return cache.file_sha256(path)
    finally:
        if own:
            cache.save()


def cached_sha256(artifact: str | Path) -> str:
    """The current sha256 of a SIF (links resolved), cached by its stat key.

    Never writes the metadata.  Raises NotFoundError (it does not exist)
    and BadInputError for a sandbox directory (which has no single digest).
    """
    from scitex_container.errors import NotFoundError

    real = _real(artifact)
    if real.is_dir():
        raise NotAFileError("a sandbox directory has no file digest", str(real))
    if not real.exists():
        raise NotFoundError("image not found", str(real))
    return file_digest(real)


def remember_digest(path: str | Path, digest: str) -> None:
    """Seed the digest cache with a digest we computed ourselves (after a rename)."""
    cache = DigestCache()
    st = os.stat(path)
    cache.remember(path, st, digest, started_ns=max(time.time_ns(), st.st_ctime_ns) + 10**9)
    cache.save()


def write_sidecars(
    final: Path, meta: VersionMeta | None, texts: Mapping[str, str] | None
) -> list[Path]:
    """Write a new version's metadata and sidecars (suffix -> text) before it is renamed in.

    A version is never seen without its record, so these go first; until
    ``final`` exists they are temporaries (:mod:`scitex_container.files.temporaries`),
    so an interrupt in between leaves no record of a version that does not
    exist.  Returns them, for the caller to forget once ``final`` is in place.
    """
    written: list[Path] = []

    def new(path: Path) -> None:  # a leftover already there is not ours to sweep
        if not os.path.lexists(path):
            written.append(temporaries.track(path, unless=final))

    if meta is not None:
        new(metadata_path(final))
        write_metadata(final, meta)
    for suffix, text in (texts or {}).items():
        new(sidecar(final, suffix))
        atomic_write_text(sidecar(final, suffix), text)
    return written
