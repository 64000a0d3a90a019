"""Per-version metadata, kept as JSON beside the artifact.

Fields written by the build (inputs hash, def snapshot, apptainer version,
start and duration) and by later steps (lock hash, verification) are merged
into one file, written atomically.  The artifact's sha256 is computed once
and reused while the file's size, mtime and inode are unchanged.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from scitex_container import runner
from scitex_container.apptainer.store.layout import META_SUFFIX, sidecar
from scitex_container.errors import NotAFileError
from scitex_container.fsutil import atomic_write_text, sha256_file

SCHEMA = 1


def metadata_path(artifact: str | Path) -> Path:
    return sidecar(Path(artifact), META_SUFFIX)


def _real(artifact: str | Path) -> Path:
    """Metadata belongs to the version, not to a link pointing at it."""
    return Path(os.path.realpath(artifact))


def load_metadata(artifact: str | Path) -> dict[str, Any]:
    """The metadata of ``artifact`` (``{}`` when none or unreadable)."""
    path = metadata_path(_real(artifact))
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def update_metadata(artifact: str | Path, updates: dict[str, Any]) -> dict[str, Any]:
    """Merge ``updates`` into the metadata of ``artifact`` (atomic write)."""
    real = _real(artifact)
    data = load_metadata(real)
    data.update(updates)
    data["schema"] = SCHEMA
    atomic_write_text(metadata_path(real), json.dumps(data, indent=2, sort_keys=True) + "\n")
    return data


def write_metadata(artifact: str | Path, data: dict[str, Any]) -> dict[str, Any]:
    """Replace the metadata beside ``artifact`` (the path itself, no link resolved)."""
    data = {**data, "schema": SCHEMA}
    atomic_write_text(metadata_path(artifact), json.dumps(data, indent=2, sort_keys=True) + "\n")
    return data


def stat_key(path: str | Path) -> list[int]:
    """What ``sha256_cache`` is keyed by: size, mtime and inode."""
    st = os.stat(path)
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def cached_sha256(artifact: str | Path, *, refresh: bool = False) -> str:
    """sha256 of a SIF file, cached in its metadata while size/mtime/inode match.

    Raises FileNotFoundError if it does not exist and IsADirectoryError for a
    sandbox directory (which has no single digest).
    """
    real = _real(artifact)
    if real.is_dir():
        raise NotAFileError("a sandbox directory has no file digest", str(real))
    key = stat_key(real)
    meta = load_metadata(real)
    cached = meta.get("sha256_cache")
    if not refresh and isinstance(cached, dict) and cached.get("stat") == key:
        return str(cached["sha256"])
    digest = sha256_file(real)
    if os.access(real.parent, os.W_OK) and not runner.is_dry_run():
        update_metadata(real, {"sha256": digest, "sha256_cache": {"stat": key, "sha256": digest}})
    return digest
