"""The one "unchanged?" decision, used by ``build()`` and ``status()``.

:func:`unchanged_version` answers "which kept version was built from
exactly these inputs?": the active version first, then any other kept
version (a build after a rollback switches back instead of rebuilding), SIF
stores and sandbox stores alike.  A version also counts when its metadata
declares it satisfies the hash (``satisfies``: the rough def a ``repro``
round trip started from).  An active version whose metadata cannot be
read raises :class:`~scitex_container.errors.MetadataError`: the store
cannot know, and ``build`` refuses unless forced.

``status()`` applies the same decision to every ``<name>.def`` in a
containers directory, computing the inputs hash exactly as ``build()``
does (with the build arguments the active version was built with).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from scitex_container.apptainer.building.inputs import ContentCache, compute_inputs
from scitex_container.apptainer.deffile.lookup import find_containers_dir
from scitex_container.apptainer.sif.header import has_sif_magic
from scitex_container.apptainer.store.core import Store
from scitex_container.apptainer.store.guard import check_store
from scitex_container.apptainer.store.metadata import VersionMeta, read_metadata, update_metadata
from scitex_container.apptainer.store.naming import SANDBOX, format_date, human_size, image_scheme
from scitex_container.errors import MetadataError, ScitexError
from scitex_container.result import Result


def image_store(output_dir: str | os.PathLike, image_name: str, sandbox: bool = False) -> Store:
    """The store ``build()`` writes ``image_name`` into (refused when another user
    could steer us in it: :mod:`..store.guard`)."""
    store = Store(Path(output_dir) / image_name, image_scheme(image_name, sandbox))
    check_store(store.dir, store.scheme)
    return store


def _usable(store: Store, path: Path) -> bool:
    """A version we may hand out again: a directory for sandboxes, a real SIF otherwise."""
    if store.scheme.kind == SANDBOX:
        return path.is_dir()
    return path.is_file() and has_sif_magic(path)


def active_metadata(store: Store) -> VersionMeta | None:
    """The active version's metadata (MetadataError, with what to do, when unreadable)."""
    active = store.active_path()
    if active is None:
        return None
    try:
        return read_metadata(active)
    except MetadataError as exc:
        raise _unknown(exc, "the store cannot tell whether it is up to date") from None


def active_build_args(store: Store) -> dict[str, str] | None:
    """The build arguments the active version was built with (None: none recorded)."""
    try:
        meta = active_metadata(store)
    except MetadataError:
        return None
    return dict(meta.build_args) if meta is not None and meta.build_args else None


def _unknown(exc: MetadataError, why: str) -> MetadataError:
    return MetadataError(
        f"{exc.detail}; {why} (`build --force` builds a new version anyway)", exc.path
    )


def recovered_metadata(artifact: Path | None) -> VersionMeta | None:
    """What a SIF's embedded provenance says it was built from (for a damaged meta.json).

    The inputs hash and build arguments ``build`` embedded in the image
    (:func:`~scitex_container.apptainer.lock.provenance.embed_lock`), as a
    :class:`VersionMeta`; None for a sandbox, an image without provenance
    or an unreadable record.  Reads the SIF's descriptors only.
    """
    if artifact is None or not artifact.is_file():
        return None
    from scitex_container.apptainer.lock.provenance import embedded_provenance

    try:
        record = embedded_provenance(artifact)
    except (ScitexError, OSError, ValueError):
        return None
    inputs_hash = (record or {}).get("inputs_hash")
    if not isinstance(inputs_hash, str) or not inputs_hash:
        return None
    args = (record or {}).get("build_args")
    if not isinstance(args, dict) or not all(isinstance(v, str) for v in args.values()):
        args = {}
    return VersionMeta(inputs_hash=inputs_hash, build_args=args)


def unchanged_version(store: Store, inputs_hash: str) -> Path | None:
    """The kept version built from exactly these inputs (active first), else None.

    An active version whose metadata is damaged counts when its embedded
    provenance records these inputs; when it does not and no other kept
    version matches, MetadataError (saying why) is raised.
    """
    active = store.active_path()
    damaged: MetadataError | None = None
    try:
        meta = read_metadata(active) if active is not None else None
    except MetadataError as exc:
        damaged, meta = exc, recovered_metadata(active)
    if active is not None and meta is not None and meta.matches(inputs_hash):
        return active
    for row in store.versions():
        if row.path == active:
            continue
        try:
            other = read_metadata(row.path)
        except MetadataError:
            continue  # unreadable: never a candidate (status reports the active one)
        if other is not None and other.matches(inputs_hash) and _usable(store, row.path):
            return row.path
    if damaged is not None:
        why = (
            "the inputs hash embedded in the image records other inputs"
            if meta is not None
            else "the image has no embedded inputs hash to recover, so the store cannot tell "
            "whether it is up to date"
        )
        raise _unknown(damaged, why)
    return None


def declare_satisfies(version: Path, rough: Path, output_dir: Path, image_name: str) -> None:
    """Record that ``version`` (a verified rebuild) stands for the def ``rough`` was built from.

    Afterwards ``build`` and ``status`` of that rough def find ``version``
    instead of rebuilding.  Written under the store lock.
    """
    rough_meta = read_metadata(rough)
    store = image_store(output_dir, image_name)
    if rough_meta is None or not rough_meta.inputs_hash or version.parent != store.dir:
        return
    with store.lock():
        meta = read_metadata(version)
        if meta is not None and not meta.matches(rough_meta.inputs_hash):
            update_metadata(version, satisfies=(*meta.satisfies, rough_meta.inputs_hash))


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
    switch_to: str | None = None  #: a kept version ``build`` would make active (no rebuild)
    #: what `build` would do: "build", "activate V: inputs unchanged since V", "none" or
    #: "refused" (`build` stops on ``error``, exit 2)
    action: str = "none"
    #: the active version's build through the stage cache: stages reused, with their age
    stages_reused: str | None = None

    def row(self) -> dict:
        """The reference's keys (plus version, size_bytes and error)."""
        return {
            "name": self.name,
            "def_path": str(self.def_path),
            "sif_path": str(self.sif_path) if self.sif_path else None,
            "path": str(self.sif_path) if self.sif_path else None,  # as `versions` names it
            "sif_size": human_size(self.sif_size),
            "sif_date": format_date(self.sif_mtime) if self.sif_mtime is not None else None,
            "size": human_size(self.sif_size),  # the same keys as `versions`
            "date": format_date(self.sif_mtime) if self.sif_mtime is not None else None,
            "hash_current": self.hash_current,
            "hash_stored": self.hash_stored,
            "needs_rebuild": self.needs_rebuild,
            "version": self.version,
            "size_bytes": self.sif_size,
            "error": self.error,
            "switch_to": self.switch_to,
            "action": self.action,
            "stages_reused": self.stages_reused,
        }


def reused_summary(meta) -> str | None:
    """``post-1 (2.0h old)`` from a version's ``stage_cache`` record (None: none): the stages
    reused, not those skipped inside them."""
    record = meta.extra.get("stage_cache") if meta is not None else None
    if not isinstance(record, list):
        return None
    reused = [r for r in record if isinstance(r, dict) and r.get("reused")]
    if not reused:
        return "none" if record else None
    age = reused[-1].get("age_seconds")
    when = f" ({float(age) / 3600:.1f}h old)" if isinstance(age, int | float) else ""
    return ", ".join(str(r.get("stage")) for r in reused) + when


def _built_store(output_dir: Path, name: str) -> Store:
    """The store ``build`` wrote ``name`` into: its SIF store, or its sandbox store when
    only ``build --sandbox`` ever wrote there."""
    store = image_store(output_dir, name)
    if os.path.lexists(store.link) or store.version_names():
        return store
    boxes = image_store(output_dir, name, sandbox=True)
    if os.path.lexists(boxes.link) or boxes.version_names():
        return boxes
    return store


def image_status(def_path: Path, output_dir: Path, cache: ContentCache) -> ImageStatus:
    from scitex_container.apptainer.building.atomic import is_image_store

    name = def_path.stem
    if is_image_store(output_dir, name):  # as `build -o` reads it
        output_dir = output_dir.parent
    store = _built_store(output_dir, name)
    sandbox = store.scheme.kind == SANDBOX
    active = store.active_path()
    error = store.link_problem()
    try:
        meta = active_metadata(store)
    except MetadataError as exc:
        meta = recovered_metadata(active)
        note = "; inputs hash recovered from the image's embedded provenance" if meta else ""
        error = f"{exc}{note}"
    stored = meta.inputs_hash if meta is not None else None
    args = dict(meta.build_args) if meta is not None and meta.build_args else None
    current = found = None
    refused = False
    try:  # the very check `build` makes first: the same refusal, word for word
        current = compute_inputs(def_path, build_args=args, sandbox=sandbox, cache=cache).digest
        found = unchanged_version(store, current)
    except MetadataError:
        pass  # the active version's damaged metadata: reported above
    except ScitexError as exc:
        error, refused = str(exc), True
    switch_to = None
    if found is not None and (active is None or found.name != active.name):
        switch_to = store.scheme.version_of(found.name)
    action = "build" if found is None else "none"
    if refused:
        action = "refused"  # `build` stops on ``error`` (exit 2) before apptainer runs
    elif switch_to is not None:
        action = f"activate {switch_to}: inputs unchanged since {switch_to}"
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
        needs_rebuild=found is None,
        error=error,
        switch_to=switch_to,
        action=action,
        stages_reused=reused_summary(meta),
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

    Args:
        containers_dir: The directory holding the versions (a store directory or its
            parent containers directory).

    Returns:
        One dict per .def with keys name, def_path, sif_path, sif_size,
        sif_date, hash_current, hash_stored, needs_rebuild (plus version,
        size_bytes and error).  ``needs_rebuild`` is exactly whether
        ``build()`` would run apptainer.
    """
    return [s.row() for s in image_statuses(containers_dir)]
