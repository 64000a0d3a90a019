"""How a store names its versions, and how versions sort.

A store keeps every version of one artifact as ``<prefix><version><suffix>``
in one directory, plus an active link.  The same few schemes cover every
layout the package reads and writes:

* the reference's flat SIF layout: ``scitex-v2.19.5.sif`` with
  ``current.sif`` (base images ``scitex-base-v*.sif`` beside them);
* the reference's sandboxes: ``sandbox-20260225_173700/`` with
  ``current-sandbox``;
* one built image per directory: ``<name>/<name>-v20260225_173700.sif``
  with ``<name>/<name>.sif`` (or ``<name>-v<ts>-sandbox/`` and
  ``<name>-sandbox`` for sandboxes).

Versions sort as versions: a PEP 440 version where it parses (2.10 after
2.9), ``YYYYMMDD_HHMMSS`` timestamps as time (with an optional ``-N`` when
two land in the same second), anything else naturally (digit runs as
numbers).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from datetime import datetime

from packaging.version import InvalidVersion, Version

from scitex_container.apptainer.store.layout import SIDECAR_SUFFIXES
from scitex_container.errors import BadInputError

SIF = "sif"
SANDBOX = "sandbox"
BASE_GLOB = "scitex-base-v*.sif"

_TIMESTAMP = re.compile(r"(\d{8})_(\d{6})(?:-(\d+))?\Z")
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


def timestamp(now: datetime | None = None) -> str:
    return (now or datetime.now()).strftime("%Y%m%d_%H%M%S")


def version_key(version: str) -> tuple:
    """Sort key: timestamps after PEP 440 versions after anything else."""
    match = _TIMESTAMP.match(version)
    if match:
        return (2, match.group(1) + match.group(2), int(match.group(3) or 0), version)
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
