"""How a store names its versions, and how versions sort.

A store keeps every version of one artifact as ``<prefix><version><suffix>``
in one directory, plus an active link.  The same few schemes cover every
layout the package reads and writes:

* the reference's flat SIF layout: ``scitex-v2.19.5.sif`` with
  ``current.sif`` (base images ``scitex-base-v*.sif`` beside them);
* the reference's sandboxes: ``sandbox-20261202T101500Z/`` with
  ``current-sandbox`` (the reference's ``sandbox-20260225_173700/`` read too);
* one built image per directory: ``<name>/<name>-v20260225_173700.sif``
  with ``<name>/<name>.sif`` (or ``<name>-v<ts>-sandbox/`` and
  ``<name>-sandbox`` for sandboxes).

New versions, images and sandboxes alike, are named by their build time in UTC with an explicit
marker: ``20261202T101500Z`` (``-2``... when two land in the same second).
Names of older stores, ``YYYYMMDD_HHMMSS`` in the builder's local time,
keep working.  Versions sort as versions: a PEP 440 version where it parses
(2.10 after 2.9), timestamps as points in time (old local names converted
with this machine's time zone; a store passes the recorded build time
instead where it has one, see :func:`version_key`), anything else naturally
(digit runs as numbers).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from packaging.version import InvalidVersion, Version

from scitex_container.apptainer.store.sidecars import SIDECAR_SUFFIXES
from scitex_container.errors import BadInputError

SIF = "sif"
SANDBOX = "sandbox"
BASE_GLOB = "scitex-base-v*.sif"

_TIMESTAMP = re.compile(r"(\d{8})_(\d{6})(?:-(\d+))?\Z")  #: old: local time
_UTC_STAMP = re.compile(r"(\d{8})T(\d{6})Z(?:-(\d+))?\Z")  #: new: UTC, marked Z
_DIGITS = re.compile(r"(\d+)")
_BAD_VERSION = re.compile(r"[/\x00]|\A\.|\A\Z|\s")


@dataclass(frozen=True)
class Scheme:
    """Names of one store's versions and of its active link."""

    prefix: str
    suffix: str
    kind: str  #: ``sif`` (regular files) or ``sandbox`` (directories)
    active: str  #: name of the active link in the store directory
    base_glob: str | None = None  #: base images: never versions, never removed
    utc_names: bool = True  #: new versions named ``...T...Z``; False: the reference's local names

    def name_of(self, version: str) -> str:
        check_version(version)
        return f"{self.prefix}{version}{self.suffix}"

    def version_of(self, name: str) -> str | None:
        """The version a directory entry name stands for, or None if it is none."""
        if name.startswith(".") or name == self.active:
            return None
        if not (name.startswith(self.prefix) and name.endswith(self.suffix)):
            return None
        if any(name.endswith(s) for s in SIDECAR_SUFFIXES):
            return None
        version = name[len(self.prefix) : len(name) - len(self.suffix)]
        if not version or _BAD_VERSION.search(version):
            return None
        if self.is_base(name):
            return None
        return version

    def is_base(self, name: str) -> bool:
        return self.base_glob is not None and fnmatch.fnmatchcase(name, self.base_glob)


#: The reference's flat layout of versioned SIFs.
FLAT_SIF = Scheme("scitex-v", ".sif", SIF, "current.sif", BASE_GLOB)
#: The reference's timestamped sandboxes.
FLAT_SANDBOX = Scheme("sandbox-", "", SANDBOX, "current-sandbox")


def image_scheme(image_name: str, sandbox: bool = False) -> Scheme:
    """The scheme of one image's own directory, as ``build()`` writes it."""
    if not image_name or "/" in image_name or image_name.startswith("."):
        raise BadInputError(f"invalid image name {image_name!r}", "image_name")
    if sandbox:
        return Scheme(f"{image_name}-v", "-sandbox", SANDBOX, f"{image_name}-sandbox")
    return Scheme(f"{image_name}-v", ".sif", SIF, f"{image_name}.sif")


def check_version(version: str) -> str:
    """Refuse version strings that cannot be one file name."""
    if not isinstance(version, str) or _BAD_VERSION.search(version) or version in (".", ".."):
        raise BadInputError(f"invalid version string {version!r}", "version")
    return version


def timestamp(now: datetime | None = None, *, utc: bool = True) -> str:
    """A new version name: the UTC time with its ``Z`` marker (else the old local form)."""
    when = now or datetime.now(timezone.utc)
    if not utc:  # the reference's sandbox names: sandbox-YYYYMMDD_HHMMSS in local time
        return when.astimezone().strftime("%Y%m%d_%H%M%S")
    return when.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def stamp_time(version: str) -> float | None:
    """The moment a timestamp version name stands for (epoch seconds), else None."""
    match = _UTC_STAMP.match(version) or _TIMESTAMP.match(version)
    if match is None:
        return None
    try:
        when = datetime.strptime(match.group(1) + match.group(2), "%Y%m%d%H%M%S")
    except ValueError:
        return None
    if match.re is _UTC_STAMP:
        return when.replace(tzinfo=timezone.utc).timestamp()
    return when.timestamp()  # an old name: the local time of this machine


def version_key(version: str, built_at: float | None = None) -> tuple:
    """Sort key: timestamps after PEP 440 versions after anything else.

    Timestamp versions sort by ``built_at`` (the recorded build time, epoch
    seconds) when given, else by the time their name stands for.
    """
    match = _UTC_STAMP.match(version) or _TIMESTAMP.match(version)
    when = stamp_time(version) if match else None
    if match and when is not None:
        at = built_at if built_at is not None else when
        return (2, at, int(match.group(3) or 0), version)
    try:
        return (1, Version(version), 0, version)
    except InvalidVersion:
        pass
    parts = tuple(
        (1, int(p), "") if p.isdigit() else (0, 0, p) for p in _DIGITS.split(version) if p
    )
    return (0, parts, 0, version)


def sort_versions(versions: list[str]) -> list[str]:
    """Oldest first."""
    return sorted(versions, key=version_key)


def human_size(nbytes: int | None) -> str | None:
    if nbytes is None:
        return None
    size = float(nbytes)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(size) < 1024:
            return f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} PB"


def format_date(mtime: float) -> str:
    return datetime.fromtimestamp(mtime).strftime("%Y-%m-%d %H:%M")
