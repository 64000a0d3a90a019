"""Provenance carried inside a SIF: its lock and its inputs hash as data objects.

After a build, :func:`finalize_build` captures the fresh image's lock
statically and embeds it as a ``--datatype 7`` (Generic) object named
:data:`LOCK_OBJECT`, plus a small JSON object :data:`PROVENANCE_OBJECT`
(tool version, inputs hash, build arguments, def sha256, lock sha256):
the image's own record of what it was built from, which
``build``/``status`` fall back on when its ``.meta.json`` is damaged.
The objects are written in-process, byte for byte as ``apptainer sif
add`` would write them (:mod:`..sif.writer`).  Generic (7), not
JSON.Generic (6): apptainer keeps its own ``inspect-metadata.json`` as the
one JSON.Generic object and looks it up by type.  Embedding replaces an
object of the same name (deleted first), it never stacks copies.  Objects
are read back straight from the descriptor table (:mod:`..sif.header`),
which is what ``apptainer sif dump`` prints.

Embedding changes the file, so the image's sha256 must be taken afterwards;
the embedded lock therefore records the SIF's UUID (``image-id``, unchanged
by ``sif add``) rather than a digest.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scitex_container._version import __version__
from scitex_container.apptainer.sif.header import GENERIC, is_sif, read_object, read_sif
from scitex_container.apptainer.sif.writer import edit_objects, object_from_add_args
from scitex_container.apptainer.store.sidecars import LOCK_SUFFIX, sidecar
from scitex_container.errors import BadInputError, SignedImageError
from scitex_container.process import runner

if TYPE_CHECKING:  # the lock module (and packaging) load only where a lock is handled
    from scitex_container.apptainer.lock.lockfile import Lock

LOCK_OBJECT = "scitex-container.lock"
PROVENANCE_OBJECT = "scitex-container.provenance.json"
GENERIC_DATATYPE = GENERIC - 0x4000  # ``--datatype 7``
SBOM_OBJECT = "scitex-container.sbom.cdx.json"
SBOM_DATATYPE = 9
STATEMENT_OBJECT = "scitex-container.intoto.json"  # see ..signing.statement
SIGNATURE = 0x4005


def _require_sif(sif: Path) -> None:
    if not is_sif(sif):
        raise BadInputError("embedding needs a SIF file (a sandbox has no data objects)", str(sif))


#: Our objects, with the ``sif add`` options each needs (re-added as they were).
#: Every object of ours joins object group 1 (the image's), so ``apptainer sign``
#: covers it and ``apptainer verify --all`` finds no unsigned object.
GROUP_ARGS = ("--groupid", "1")
KNOWN_OBJECTS: dict[str, tuple[str, ...]] = {
    LOCK_OBJECT: ("--datatype", str(GENERIC_DATATYPE), "--filename", LOCK_OBJECT, *GROUP_ARGS),
    PROVENANCE_OBJECT: (
        "--datatype",
        str(GENERIC_DATATYPE),
        "--filename",
        PROVENANCE_OBJECT,
        *GROUP_ARGS,
    ),
    STATEMENT_OBJECT: (
        "--datatype",
        str(GENERIC_DATATYPE),
        "--filename",
        STATEMENT_OBJECT,
        *GROUP_ARGS,
    ),
    SBOM_OBJECT: (
        *GROUP_ARGS,
        "--datatype",
        str(SBOM_DATATYPE),
        "--filename",
        SBOM_OBJECT,
        "--sbomformat",
        "cyclonedx-json",
    ),
}


def _add_args(name: str, datatype: int, extra_args: tuple[str, ...]) -> tuple[str, ...]:
    return ("--datatype", str(datatype), "--filename", name, *GROUP_ARGS, *extra_args)


def replace_objects(
    sif: str | os.PathLike,
    new: dict[str, tuple[bytes, tuple[str, ...]]],
    *,
    signing: bool = False,
) -> None:
    """Put each ``name -> (data, sif add options)`` in ``sif``, replacing same-named ones.

    SIF reuses space only at the end of the data, so the objects being
    replaced and every one of our objects stored after them are deleted
    and added back: repeated embedding never grows the file.  The edit is
    made in-process (:mod:`..sif.writer`), byte for byte what ``apptainer
    sif del`` and ``sif add`` with these options would write, without
    their process starts; a dry run changes nothing.

    A signed SIF is refused (:class:`SignedImageError`, exit 2): a new or
    replaced object is not covered by the signature, so ``verify --key``
    would report the tool's own change as tampering.  ``signing``: the
    caller is the signing step itself (:mod:`..signing.sign`), which
    removed the old signature and signs afterwards.
    """
    sif = Path(sif)
    _require_sif(sif)
    info = read_sif(sif)
    if not signing and any(o.datatype == SIGNATURE for o in info.objects):
        names = ", ".join(sorted(new))
        raise SignedImageError(
            f"the image is signed; adding {names} would break its signature. "
            "Pass --key KEY to re-sign after embedding (sbom --embed --key), "
            "or remove the signature first",
            str(sif),
        )
    ours = [o for o in info.objects if o.name in new or o.name in KNOWN_OBJECTS]
    replaced = [o for o in ours if o.name in new]
    first = min((o.offset for o in replaced), default=None)
    remove = [o for o in ours if o.name in new or (first is not None and o.offset > first)]
    keep_again = {
        o.name: (read_object(sif, o), KNOWN_OBJECTS[o.name])
        for o in sorted(remove, key=lambda o: o.offset)
        if o.name not in new
    }
    if runner.is_dry_run():
        return
    added = [*keep_again.items(), *new.items()]
    edit_objects(
        sif,
        delete=[o.id for o in remove],
        add=[object_from_add_args(data, args) for _name, (data, args) in added],
    )


def embed_object(
    sif: str | os.PathLike,
    name: str,
    data: bytes,
    *,
    datatype: int = GENERIC_DATATYPE,
    extra_args: tuple[str, ...] = (),
) -> None:
    """Put ``data`` in ``sif`` as the object ``name``, replacing any of that name."""
    args = _add_args(name, datatype, extra_args)
    KNOWN_OBJECTS.setdefault(name, args)
    replace_objects(sif, {name: (data, args)})


def read_named_object(sif: str | os.PathLike, name: str) -> bytes | None:
    """The bytes of the object ``name`` in ``sif`` (the newest if several), or None."""
    sif = Path(sif)
    if not is_sif(sif):
        return None
    found = read_sif(sif).named(name)
    if not found:
        return None
    return read_object(sif, max(found, key=lambda o: o.id))


def embedded_lock(sif: str | os.PathLike) -> Lock | None:
    """The lock embedded in ``sif``, or None (BadInputError if it is malformed)."""
    data = read_named_object(sif, LOCK_OBJECT)
    if data is None:
        return None
    from scitex_container.apptainer.lock.lockfile import parse_lock

    return parse_lock(data.decode("utf-8", "replace"), f"{sif}#{LOCK_OBJECT}")


def embedded_provenance(sif: str | os.PathLike) -> dict[str, Any] | None:
    """The embedded provenance JSON of ``sif``, or None."""
    data = read_named_object(sif, PROVENANCE_OBJECT)
    if data is None:
        return None
    try:
        value = json.loads(data)
    except ValueError:
        raise BadInputError(
            "embedded provenance is not JSON", f"{sif}#{PROVENANCE_OBJECT}"
        ) from None
    return value if isinstance(value, dict) else None


def embed_lock(
    sif: str | os.PathLike,
    lock: Lock,
    *,
    inputs_hash: str | None = None,
    def_sha256: str | None = None,
    build_args: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Embed ``lock`` and a provenance record into ``sif``; returns the record."""
    from scitex_container.apptainer.lock.lockfile import render_lock

    text = render_lock(lock)
    record = {
        "schema": 1,
        "tool": f"scitex-container {__version__}",
        "lock_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "lock_object": LOCK_OBJECT,
    }
    if inputs_hash:
        record["inputs_hash"] = inputs_hash
        record["build_args"] = dict(build_args or {})  # the hash covers them
    if def_sha256:
        record["def_sha256"] = def_sha256
    replace_objects(
        sif,
        {
            LOCK_OBJECT: (text.encode(), KNOWN_OBJECTS[LOCK_OBJECT]),
            PROVENANCE_OBJECT: (
                (json.dumps(record, indent=2, sort_keys=True) + "\n").encode(),
                KNOWN_OBJECTS[PROVENANCE_OBJECT],
            ),
        },
    )
    return record


def finalize_build(
    tmp_artifact: str | os.PathLike,
    *,
    inputs_hash: str | None = None,
    def_sha256: str | None = None,
    build_args: dict[str, str] | None = None,
    embed: bool = True,
    captured_at: str | None = None,
    final_name: str | None = None,
) -> dict[str, Any]:
    """Capture and embed the lock of a freshly built image, before it is published.

    ``final_name`` is the name the image is published under (the lock's
    ``# regenerate:`` line names it, not the temporary).

    Meant as the ``finalize`` hook of ``build_image`` (wrapped to pass the
    inputs hash, as ``building.versioned`` does).  The lock is captured statically (exec as a
    fallback).  A SIF gets the lock and provenance embedded; a sandbox gets
    nothing written into it.  Returns metadata to merge into the version's
    ``.meta.json``: ``lock_sha256``, ``lock_embedded``, ``lock_counts``,
    ``lock_text`` (so the ``.lock`` sidecar can be written once the final
    name is known, see :func:`write_lock_sidecar`).  The image's sha256 must
    be computed after this returns: embedding changed the file.
    """
    path = Path(tmp_artifact)
    from scitex_container.apptainer.lock.capture import (  # only a build needs a capture
        capture_date,
        capture_found,
        lock_from_found,
    )

    found = capture_found(path)
    lock = lock_from_found(
        found,
        captured_at=capture_date(captured_at),
        command=f"scitex-container lock capture {final_name or path.name}",
    )
    from scitex_container.apptainer.lock.lockfile import render_lock

    text = render_lock(lock)
    meta: dict[str, Any] = {
        "lock_sha256": hashlib.sha256(text.encode()).hexdigest(),
        "lock_embedded": False,
        "lock_counts": lock.counts(),
        "lock_capture": found.method,
        "lock_text": text,
    }
    if embed and path.is_file() and not runner.is_dry_run():
        embed_lock(
            path, lock, inputs_hash=inputs_hash, def_sha256=def_sha256, build_args=build_args
        )
        meta["lock_embedded"] = True
    return meta


def write_lock_sidecar(artifact: str | os.PathLike, lock: Lock | str | None = None) -> Path:
    """Write ``<artifact>.lock``: from ``lock`` (a Lock or its text), else from the
    embedded lock, else from a fresh capture.  The header gets the artifact's
    current sha256."""
    from scitex_container.apptainer.lock.lockfile import parse_lock, write_lock
    from scitex_container.apptainer.store import metadata

    artifact = Path(artifact)
    if isinstance(lock, str):
        lock = parse_lock(lock, f"{artifact} lock text")
    if lock is None:
        lock = embedded_lock(artifact) if artifact.is_file() else None
    if lock is None:
        from scitex_container.apptainer.lock.capture import capture_lock

        path = sidecar(artifact, LOCK_SUFFIX)
        capture_lock(artifact, path)
        return path
    digest = metadata.cached_sha256(artifact) if artifact.is_file() else ""
    return write_lock(_with_digest(lock, digest), sidecar(artifact, LOCK_SUFFIX))


def _with_digest(lock: Lock, digest: str) -> Lock:
    """``lock`` naming the image ``digest``; every other field (artifact hashes, the
    packages a dpkg package provides, how pip was captured) kept as it is."""
    import dataclasses

    return dataclasses.replace(lock, image_sha256=digest)


def lock_sidecar_text(lock_text: str, digest: str, where: str = "lock text") -> str:
    """The ``.lock`` sidecar of an image whose sha256 is ``digest``."""
    from scitex_container.apptainer.lock.lockfile import parse_lock, render_lock

    return render_lock(_with_digest(parse_lock(lock_text, where), digest))
