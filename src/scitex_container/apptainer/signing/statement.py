"""The build's provenance as an in-toto Statement v1 with a SLSA provenance v1 predicate.

The statement is kept in the SIF as the data object :data:`STATEMENT_OBJECT`
(Generic, in object group 1 like every object of ours, so ``apptainer
sign`` covers it).  Its one subject is the image's primary squashfs
partition: ``sha256`` of that object's bytes, which ``sif add``/``sif del``
and signing never change, so the statement can be written before the
signature is added.  Materials (``resolvedDependencies``) are the def file,
each ``%files`` source and each base image, with the digests the inputs
hash used (:mod:`..building.inputs`): ``sha256`` of a regular file's
content, ``scitexTree`` for the tree digest of a directory (or a file as
the inputs hash sees it, with its mode), ``sha256`` of a localimage SIF.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from scitex_container._version import __version__
from scitex_container.apptainer.sif.header import SifInfo, read_sif
from scitex_container.errors import BadInputError

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://slsa.dev/provenance/v1"
BUILD_TYPE = "https://pypi.org/project/scitex-container/#apptainer-build-v1"
BUILDER_ID = "pkg:pypi/scitex-container"


def builder_id() -> str:
    return f"{BUILDER_ID}@{__version__}"


def partition_sha256(sif: str | os.PathLike, info: SifInfo | None = None) -> str:
    """sha256 of the primary partition's bytes (the statement's subject)."""
    info = info or read_sif(sif)
    part = info.primary_partition()
    if part is None:
        raise BadInputError("the SIF has no filesystem partition", str(sif))
    h = hashlib.sha256()
    with open(sif, "rb") as fh:
        fh.seek(part.offset)
        left = part.size
        while left > 0:
            chunk = fh.read(min(left, 1 << 20))
            if not chunk:
                break
            h.update(chunk)
            left -= len(chunk)
    return h.hexdigest()


def _base_materials(def_text: str, def_path: str, images: list) -> list[dict[str, Any]]:
    from scitex_container.apptainer.deffile import parse_def_text

    out: list[dict[str, Any]] = []
    local = iter(images)
    try:
        deffile = parse_def_text(def_text, def_path)
    except BadInputError:
        return out
    for stage in deffile.stages:
        agent = stage.bootstrap.strip().lower()
        source = stage.from_ or stage.get("osversion") or ""
        if agent == "localimage":
            path, digest = next(local, (source, ""))
            algo, _, value = str(digest).rpartition(":")
            entry: dict[str, Any] = {"name": "base-image", "uri": f"localimage:{path}"}
            if value:
                entry["digest"] = {algo or "scitexTree": value}
            out.append(entry)
        elif agent and agent != "scratch":
            uri = f"{agent}:{source}" if "://" not in source else source
            if agent == "debootstrap" and stage.get("mirrorurl"):
                uri += f"@{stage.get('mirrorurl')}"
            out.append({"name": "base-image", "uri": uri})
    return out


def _file_material(rel: str, tree: str, base: Path | None, cache) -> dict[str, Any]:
    digest = {"scitexTree": tree}
    path = (base / rel) if base is not None and not os.path.isabs(rel) else Path(rel)
    if base is not None and path.is_file():
        # the inputs hash just read this file through the same cache: no second read
        digest["sha256"] = cache.file_sha256(path)
    return {"name": "files", "uri": f"file:{rel}", "digest": digest}


def make_statement(
    sif: str | os.PathLike,
    *,
    name: str,
    record: dict[str, Any],
    live_base: Path | None = None,
    subject_sha256: str | None = None,
) -> dict[str, Any]:
    """The statement for ``sif`` from a version's metadata ``record``.

    ``subject_sha256``: the primary partition's sha256 when the caller
    already has it (a build hashes it while it embeds the lock).

    ``record`` holds what a build records (``inputs_hash``, ``inputs``,
    ``build_args``, ``def_path``, ``def_text``, ``lock_sha256``,
    ``apptainer_version``, ``build_start``, ``build_command``).  With
    ``live_base`` (the def's directory, at build time) regular ``%files``
    sources also get the sha256 of their content.
    """
    info = read_sif(sif)
    raw_inputs = record.get("inputs")
    inputs: dict[str, Any] = raw_inputs if isinstance(raw_inputs, dict) else {}
    def_path = str(record.get("def_path") or "")
    def_sha = inputs.get("def_sha256") or record.get("def_sha256") or ""
    deps: list[dict[str, Any]] = []
    if def_sha:
        deps.append(
            {
                "name": "definition",
                "uri": f"file:{os.path.basename(def_path) or 'definition.def'}",
                "digest": {"sha256": def_sha},
            }
        )
    from scitex_container.apptainer.building.inputs import ContentCache

    cache = ContentCache()
    for rel, tree in inputs.get("files") or []:
        deps.append(_file_material(str(rel), str(tree), live_base, cache))
    cache.save()
    deps += _base_materials(str(record.get("def_text") or ""), def_path, inputs.get("images") or [])
    internal = {
        k: record[k]
        for k in ("inputs_hash", "lock_sha256", "apptainer_version", "build_command", "stage_cache")
        if record.get(k) is not None
    }
    return {
        "_type": STATEMENT_TYPE,
        "subject": [
            {"name": name, "digest": {"sha256": subject_sha256 or partition_sha256(sif, info)}}
        ],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "buildDefinition": {
                "buildType": BUILD_TYPE,
                "externalParameters": {
                    "definition": os.path.basename(def_path) or None,
                    "buildArgs": dict(record.get("build_args") or {}),
                    "sandbox": bool(record.get("sandbox", False)),
                },
                "internalParameters": internal,
                "resolvedDependencies": deps,
            },
            "runDetails": {
                "builder": {"id": builder_id()},
                "metadata": {
                    "invocationId": info.image_id,
                    **({"startedOn": record["build_start"]} if record.get("build_start") else {}),
                },
            },
        },
    }


def render(statement: dict[str, Any]) -> bytes:
    """Deterministic bytes of a statement."""
    return (json.dumps(statement, indent=2, sort_keys=True) + "\n").encode()


def parse_statement(data: bytes, where: str) -> dict[str, Any]:
    """A statement read back; BadInputError naming ``where`` when it is not one."""
    try:
        value = json.loads(data)
    except ValueError:
        raise BadInputError("the in-toto statement is not JSON", where) from None
    if not isinstance(value, dict) or value.get("_type") != STATEMENT_TYPE:
        raise BadInputError("not an in-toto Statement v1", where)
    subjects = value.get("subject")
    if not isinstance(subjects, list) or not subjects or not isinstance(subjects[0], dict):
        raise BadInputError("the statement has no subject", where)
    return value


def subject_sha256(statement: dict[str, Any]) -> str:
    digest = statement["subject"][0].get("digest")
    return str(digest.get("sha256", "")) if isinstance(digest, dict) else ""


def summary(statement: dict[str, Any]) -> dict[str, Any]:
    """Builder and materials of a statement, for reports."""
    raw_pred = statement.get("predicate")
    pred: dict[str, Any] = raw_pred if isinstance(raw_pred, dict) else {}
    build = pred.get("buildDefinition") or {}
    run = pred.get("runDetails") or {}
    materials = [
        {"uri": d.get("uri"), "digest": d.get("digest", {})}
        for d in build.get("resolvedDependencies") or []
        if isinstance(d, dict)
    ]
    return {
        "builder": (run.get("builder") or {}).get("id"),
        "build_type": build.get("buildType"),
        "predicate_type": statement.get("predicateType"),
        "subject": statement["subject"][0],
        "materials": materials,
    }
