"""The round-trip marker (``<image>.verified.json``) and the use-time gate.

:mod:`.roundtrip` writes a :class:`VerifiedMarker` beside every image a
round trip checked; :func:`check_verified` reads it back when an image is
used.  The file is
data read from disk: :meth:`VerifiedMarker.from_dict` checks every known
field's type (naming the bad field), ignores unknown ones and fills absent
ones with empty defaults, so older or hand-written markers still load.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from scitex_container.apptainer.store.sidecars import VERIFIED_SUFFIX, sidecar
from scitex_container.errors import BadInputError, CheckFailedError, NotFoundError
from scitex_container.files.fsutil import atomic_write_text, sha256_file
from scitex_container.result import Result

MARKER_SCHEMA = 1


class UnverifiedImageWarning(UserWarning):
    """An image is used whose round trip did not verify (or never ran)."""


_TYPES: dict[str, type | tuple[type, ...]] = {
    "schema": int,
    "status": str,
    "identical": bool,
    "summary": str,
    "diff": dict,
    "image": str,
    "image_sha256": str,
    "rough_image": str,
    "lock": str,
    "lock_sha256": str,
    "rough_lock": str,
    "locked_def": str,
    "rough_def": str,
    "tool_version": str,
    "command": str,
    "rebuild": (str, type(None)),
}


@dataclass(frozen=True)
class VerifiedMarker:
    """What a round trip found for one image, as stored beside it."""

    status: str  #: ``verified`` or ``unverified``
    identical: bool = False  #: the rebuild's version set equals the lock's
    summary: str = ""  #: the drift summary ("identical" when none)
    diff: dict[str, Any] = field(default_factory=dict)  #: the lock comparison, JSON form
    image: str = ""  #: file name of the image this marker vouches for
    image_sha256: str = ""  #: its digest when the marker was written ("" for a sandbox)
    rough_image: str = ""
    lock: str = ""  #: file name of the image's lock
    lock_sha256: str = ""
    rough_lock: str = ""
    locked_def: str = ""
    rough_def: str = ""
    tool_version: str = ""
    command: str = ""  #: the command that regenerates it
    rebuild: str | None = None  #: on the rough image's marker: the rebuild it was checked by
    schema: int = MARKER_SCHEMA

    @property
    def is_verified(self) -> bool:
        return self.status == "verified" and self.identical

    def to_dict(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        if self.rebuild is None:
            del data["rebuild"]
        return data

    @classmethod
    def from_dict(cls, data: Any, where: str = "marker") -> VerifiedMarker:
        """Check and load a marker's JSON object (:class:`BadInputError` naming the field)."""
        if not isinstance(data, dict):
            raise BadInputError(f"expected a JSON object, got {type(data).__name__}", where)
        known: dict[str, Any] = {}
        for key, kind in _TYPES.items():
            if key not in data:
                continue
            value = data[key]
            if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise BadInputError(f"field `{key}` has the wrong type", where)
            known[key] = value
        if "status" not in known:
            raise BadInputError("field `status` is missing", where)
        return cls(**known)

    def write(self, path: str | os.PathLike) -> None:
        atomic_write_text(path, json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")


def read_marker_file(path: str | os.PathLike) -> VerifiedMarker | None:
    """The marker at ``path`` (``None`` when absent, unreadable or malformed)."""
    try:
        return VerifiedMarker.from_dict(json.loads(Path(path).read_bytes()), os.fspath(path))
    except (OSError, ValueError):  # BadInputError and JSONDecodeError are ValueErrors
        return None


@dataclass(frozen=True)
class VerifyStatus(Result):
    """What :func:`check_verified` found beside an image."""

    state: str  #: ``verified``, ``unverified`` or ``unknown`` (no marker)
    image: Path
    detail: str
    marker: Path

    @property
    def sif(self) -> Path:
        """The seed's name of :attr:`image` (its ``VerifyStatus.sif``)."""
        return self.image

    @property
    def is_verified(self) -> bool:
        return self.state == "verified"

    def __bool__(self) -> bool:
        return self.is_verified


def _real(path: str | os.PathLike) -> Path:
    return Path(os.path.realpath(path))


def _image_sha256(image: Path) -> str:
    if image.is_dir():
        return ""
    from scitex_container.apptainer.store.metadata import cached_sha256

    try:
        return cached_sha256(image)
    except OSError:
        return sha256_file(image)


def read_marker(image: str | os.PathLike) -> VerifiedMarker | None:
    """The round-trip marker beside ``image`` (``None`` when absent or unreadable)."""
    return read_marker_file(sidecar(_real(image), VERIFIED_SUFFIX))


def seed_marker(image: Path) -> tuple[str, str, Path] | None:
    """The seed's marker beside ``image`` (``<stem>.verified`` / ``<stem>.unverified``).

    The seed wrote plain text files without the image digest: ``.verified``
    reads as verified (as the seed read it), ``.unverified`` as unverified
    with the drift its body names.  ``None`` when neither exists.
    """
    verified, unverified = image.with_suffix(".verified"), image.with_suffix(".unverified")
    if verified.is_file():
        return "verified", "round trip verified (the seed's marker; no digest recorded)", verified
    if unverified.is_file():
        try:
            body = unverified.read_text(errors="replace").strip().replace("\n", "; ")
        except OSError:
            body = ""
        return "unverified", body or "the round trip drifted (the seed's marker)", unverified
    return None


def check_verified(image: str | os.PathLike, require_verified: bool = False) -> VerifyStatus:
    """The use-time gate: is ``image`` (or the version a link points to) verified?

    ``verified`` needs a marker saying so whose recorded image digest still
    matches the image (or, with none of ours, the seed's ``.verified``
    marker: :func:`seed_marker`).  Anything else warns (:class:`UnverifiedImageWarning`)
    or, with ``require_verified``, raises
    :class:`~scitex_container.errors.CheckFailedError`.
    """
    real = _real(image)
    if not real.exists():
        raise NotFoundError(f"image not found: {image}", os.fspath(image))
    marker_path = sidecar(real, VERIFIED_SUFFIX)
    marker = read_marker(real)
    seed = seed_marker(real) if marker is None else None
    if seed is not None:
        state, detail, marker_path = seed
    elif marker is None:
        state = "unknown"
        detail = "no round-trip marker (run `scitex-container repro` on its def)"
    elif not marker.is_verified:
        state, detail = "unverified", marker.summary or "the round trip drifted"
    elif marker.image_sha256 and _image_sha256(real) != marker.image_sha256:
        state, detail = "unverified", "the image changed since its round trip was verified"
    else:
        state, detail = "verified", "round trip verified"
    status = VerifyStatus(state, real, detail, marker_path)
    if state != "verified":
        message = f"{real.name}: reproducibility unverified: {detail}"
        if require_verified:
            raise CheckFailedError(message)
        warnings.warn(message, UnverifiedImageWarning, stacklevel=2)
    return status
