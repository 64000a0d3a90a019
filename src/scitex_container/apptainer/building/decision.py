"""What ``build()`` would do for each .def in a containers directory.

For every ``<name>.def`` it looks at the image store ``build()`` writes
(``<output_dir>/<name>/<name>.sif``), computes the current inputs hash
exactly as ``build()`` does (with the build arguments the active version
was built with) and compares it with the hash stored in the active
version's metadata.  Content hashes of %files sources and localimage
digests are cached, so asking again costs a few ``stat`` calls per image.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from scitex_container.apptainer.building.inputs import ContentCache, compute_inputs
from scitex_container.apptainer.building.versioned import image_store
from scitex_container.apptainer.deffile.lookup import find_containers_dir
from scitex_container.apptainer.store.metadata import load_metadata
from scitex_container.apptainer.store.naming import format_date, human_size
from scitex_container.errors import ScitexError
from scitex_container.result import Result


@dataclass(frozen=True)
class ImageStatus(Result):
    name: str
    def_path: Path
    sif_path: Path | None  #: the active link, when it resolves
    version: str | None
    sif_size: int | None
    sif_mtime: float | None
    hash_current: str | None  #: None when the def cannot be hashed (see ``error``)
    hash_stored: str | None
    needs_rebuild: bool
    error: str | None

    def row(self) -> dict:
        """The reference's keys (plus version, size_bytes and error)."""
        return {
            "name": self.name,
            "def_path": str(self.def_path),
            "sif_path": str(self.sif_path) if self.sif_path else None,
            "sif_size": human_size(self.sif_size),
            "sif_date": format_date(self.sif_mtime) if self.sif_mtime is not None else None,
            "hash_current": self.hash_current,
            "hash_stored": self.hash_stored,
            "needs_rebuild": self.needs_rebuild,
            "version": self.version,
            "size_bytes": self.sif_size,
            "error": self.error,
        }


def image_status(def_path: Path, output_dir: Path, cache: ContentCache) -> ImageStatus:
    name = def_path.stem
    store = image_store(output_dir, name)
    active = store.active_path()
    meta = load_metadata(active) if active is not None else {}
    stored = meta.get("inputs_hash")
    args = meta.get("build_args") if isinstance(meta.get("build_args"), dict) else None
    try:
        current = compute_inputs(def_path, build_args=args, cache=cache).digest
        error = None
    except ScitexError as exc:
        current, error = None, str(exc)
    size = mtime = None
    if active is not None:
        try:
            st = os.stat(active)
            size, mtime = st.st_size, st.st_mtime
        except FileNotFoundError:
            active = None
    return ImageStatus(
        name=name,
        def_path=def_path,
        sif_path=store.link if active is not None else None,
        version=store.scheme.version_of(active.name) if active is not None else None,
        sif_size=size,
        sif_mtime=mtime,
        hash_current=current,
        hash_stored=stored,
        needs_rebuild=active is None or current is None or current != stored,
        error=error,
    )


def image_statuses(
    containers_dir: str | os.PathLike | None = None,
    *,
    output_dir: str | os.PathLike | None = None,
) -> list[ImageStatus]:
    cdir = Path(containers_dir) if containers_dir is not None else find_containers_dir()
    out = Path(output_dir) if output_dir is not None else cdir
    cache = ContentCache()
    try:
        return [image_status(p.absolute(), out, cache) for p in sorted(cdir.glob("*.def"))]
    finally:
        cache.save()


def status(containers_dir: str | os.PathLike | None = None) -> list[dict]:
    """List available containers and their status.

    Returns:
        One dict per .def with keys name, def_path, sif_path, sif_size,
        sif_date, hash_current, hash_stored, needs_rebuild (plus version,
        size_bytes and error).  ``needs_rebuild`` is exactly whether
        ``build()`` would run apptainer.
    """
    return [s.row() for s in image_statuses(containers_dir)]
