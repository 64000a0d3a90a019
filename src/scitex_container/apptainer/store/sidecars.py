"""File names of everything kept beside an image version, in one place.

An image version is a ``.sif`` file or a sandbox directory.  Beside it live
sidecar files named ``<artifact name><suffix>``, e.g. for
``demo-v20261121_193000.sif``: ``demo-v20261121_193000.sif.meta.json``.
Sidecars are never listed as versions.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Build metadata (inputs hash, def snapshot, apptainer version, timings, sha256).
META_SUFFIX = ".meta.json"
#: Combined lock (``# scitex-container lock`` format) captured from the image.
LOCK_SUFFIX = ".lock"
#: Pinned recipe generated from the rough def plus the lock.
LOCKED_DEF_SUFFIX = ".locked.def"
#: Snapshot of the rough def the round trip started from.
ROUGH_DEF_SUFFIX = ".rough.def"
#: Round-trip verdict: verified/unverified with the drift summary (JSON).
VERIFIED_SUFFIX = ".verified.json"
#: Build log.
LOG_SUFFIX = ".build.log"
#: Marker file that protects a version from cleanup.
KEEP_SUFFIX = ".keep"

#: The reference's separate lock files written by ``freeze`` (per directory).
FREEZE_FILES = {
    "pip": "requirements-lock.txt",
    "dpkg": "dpkg-lock.txt",
    "node": "node-lock.txt",
}

SIDECAR_SUFFIXES = (
    META_SUFFIX,
    LOCK_SUFFIX,
    LOCKED_DEF_SUFFIX,
    ROUGH_DEF_SUFFIX,
    VERIFIED_SUFFIX,
    LOG_SUFFIX,
    KEEP_SUFFIX,
)


def sidecar(artifact: str | Path, suffix: str) -> Path:
    """The sidecar of ``artifact`` with ``suffix`` (resolves no links)."""
    artifact = Path(artifact)
    return artifact.with_name(artifact.name + suffix)


def existing_sidecars(artifact: Path) -> list[Path]:
    """The sidecars of ``artifact`` that are there (removed with it)."""
    return [p for p in (sidecar(artifact, s) for s in SIDECAR_SUFFIXES) if os.path.lexists(p)]


def name_taken(artifact: Path) -> bool:
    """Is ``artifact`` there, or any sidecar of that name (a failed build's log)?"""
    return os.path.lexists(artifact) or any(
        os.path.lexists(sidecar(artifact, suffix)) for suffix in SIDECAR_SUFFIXES
    )
