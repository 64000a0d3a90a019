"""Verify an image: its digest, the def it came from, and its lock against a fresh capture.

``verify`` returns the reference's dict::

    {
        "sif": {"path": "...", "sha256": "...", "exists": True},
        "def_origin": {"status": "pass|fail|skip", "detail": "..."},
        "pip_lock": {"status": "pass|fail|skip", "detail": "...", "diff_count": 0},
        "dpkg_lock": {"status": "pass|fail|skip", "detail": "...", "diff_count": 0},
        "node_lock": {"status": "pass|fail|skip", "detail": "...", "diff_count": 0},
        "lock_origin": {"status": "pass|fail|skip", "detail": "..."},
        "lock_source": {"kind": "lock_dir|sidecar|freeze_files|embedded|none", "path": "..."},
        "overall": "pass|fail",
    }

(``apk_lock`` too on Alpine images.)  The digest comes from the version's
metadata cache (:func:`.metadata.cached_sha256`).  The def's sha256 is
compared with, in order: the store's metadata (``inputs.def_sha256`` or
``def_sha256``, else the ``def_text`` snapshot), the provenance embedded in
the SIF, the reference's ``.def-hash`` file beside it, and the def the SIF
itself carries (its Def.FILE object).  The lock used is, in order: the files
in ``lock_dir`` (``<image>.lock``, else its only ``*.lock``, else the
reference's separate files), the
``<image>.lock`` sidecar, the separate files beside the image, the lock
embedded in the SIF.  A lock whose header names another image (its
``image-id``, else its ``image-sha256``) fails ``lock_origin``.  The fresh
capture never launches the container unless the image cannot be read.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from scitex_container.apptainer.lock.capture import (
    capture_found,
    check_image,
    image_digest,
    lock_from_found,
)
from scitex_container.apptainer.lock.capture_static import freeze_lines_to_map
from scitex_container.apptainer.lock.compare import compare_version_sets
from scitex_container.apptainer.lock.lockfile import (
    Lock,
    node_json_from_versions,
    node_versions,
    read_lock,
)
from scitex_container.apptainer.sif.header import is_sif, read_object, read_sif
from scitex_container.apptainer.store import metadata
from scitex_container.apptainer.store.layout import FREEZE_FILES, LOCK_SUFFIX, sidecar
from scitex_container.errors import BadInputError, ProcessError, ToolMissingError

SECTIONS = ("pip", "dpkg", "node")


def _skip(detail: str, diff: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"status": "skip", "detail": detail}
    if diff:
        out["diff_count"] = 0
    return out


# --- def origin -------------------------------------------------------------------


def _stored_def_hashes(image: Path) -> list[tuple[str, str]]:
    """(source, sha256) candidates for the def that built ``image``, best first."""
    out: list[tuple[str, str]] = []
    meta = metadata.load_metadata(image)
    inputs = meta["inputs"] if isinstance(meta.get("inputs"), dict) else {}
    for value in (inputs.get("def_sha256"), meta.get("def_sha256")):
        if isinstance(value, str) and value:
            out.append(("metadata", value))
            break
    else:
        if isinstance(meta.get("def_text"), str):
            out.append(
                ("metadata def snapshot", hashlib.sha256(meta["def_text"].encode()).hexdigest())
            )
    if image.is_file() and is_sif(image):
        from scitex_container.apptainer.lock.provenance import embedded_provenance

        prov = embedded_provenance(image) or {}
        if isinstance(prov.get("def_sha256"), str):
            out.append(("embedded provenance", prov["def_sha256"]))
    hash_file = image.parent / ".def-hash"
    if hash_file.is_file():
        out.append((".def-hash", hash_file.read_text().strip()))
    if image.is_file() and is_sif(image):
        for obj in read_sif(image).objects:
            if obj.datatype == 0x4001:
                out.append(
                    ("the image's own def", hashlib.sha256(read_object(image, obj)).hexdigest())
                )
                break
    return out


def check_def_origin(image: Path, def_path: str | os.PathLike | None) -> dict[str, Any]:
    if def_path is None:
        return _skip("No .def provided", diff=False)
    def_path = Path(def_path)
    if not def_path.is_file():
        return {"status": "fail", "detail": f".def not found: {def_path}"}
    current = hashlib.sha256(def_path.read_bytes()).hexdigest()
    stored = _stored_def_hashes(image)
    if not stored:
        return {
            "status": "fail",
            "detail": "No stored def hash found (metadata, provenance, .def-hash)",
        }
    source, value = stored[0]
    if current == value:
        return {"status": "pass", "detail": f"def hash matches ({source}): {current[:16]}..."}
    return {
        "status": "fail",
        "detail": f"def hash mismatch ({source}): current={current[:16]}... stored={value[:16]}...",
    }


# --- the lock to compare against --------------------------------------------------------


def _freeze_files_lock(directory: Path) -> tuple[Lock, list[str]] | None:
    files = {
        k: directory / name for k, name in FREEZE_FILES.items() if (directory / name).is_file()
    }
    if not files:
        return None
    pip = dpkg = None
    node = ""
    if "pip" in files:
        pip = freeze_lines_to_map(files["pip"].read_text().splitlines())
    if "dpkg" in files:
        dpkg = {}
        for line in files["dpkg"].read_text().splitlines():
            if line.strip() and not line.startswith("#") and "=" in line:
                name, _, version = line.strip().partition("=")
                dpkg[name] = version
    if "node" in files:
        try:
            node = node_json_from_versions(node_versions(files["node"].read_text()))
        except ValueError:
            raise BadInputError("node lock is not npm JSON", str(files["node"])) from None
    return Lock(pip=pip or {}, dpkg=dpkg or {}, node=node), sorted(files)


def find_lock(
    image: Path, lock_dir: str | os.PathLike | None
) -> tuple[Lock | None, dict[str, Any], list[str]]:
    """The lock to verify against, where it came from, and the sections it covers."""
    combined = sidecar(image, LOCK_SUFFIX)
    if lock_dir is not None:
        directory = Path(lock_dir)
        in_dir = directory / combined.name
        if not in_dir.is_file():
            others = sorted(directory.glob("*" + LOCK_SUFFIX))
            in_dir = others[0] if len(others) == 1 else in_dir
        if in_dir.is_file():
            return read_lock(in_dir), {"kind": "lock_dir", "path": str(in_dir)}, list(SECTIONS)
        got = _freeze_files_lock(directory)
        if got:
            return got[0], {"kind": "lock_dir", "path": str(directory)}, got[1]
        return None, {"kind": "none", "path": str(directory)}, []
    if combined.is_file():
        return read_lock(combined), {"kind": "sidecar", "path": str(combined)}, list(SECTIONS)
    got = _freeze_files_lock(image.parent)
    if got:
        return got[0], {"kind": "freeze_files", "path": str(image.parent)}, got[1]
    if image.is_file():
        from scitex_container.apptainer.lock.provenance import LOCK_OBJECT, embedded_lock

        lock = embedded_lock(image)
        if lock is not None:
            return lock, {"kind": "embedded", "path": f"{image}#{LOCK_OBJECT}"}, list(SECTIONS)
    return None, {"kind": "none", "path": None}, []


def check_lock_origin(lock: Lock, image: Path, sha256: str | None) -> dict[str, Any]:
    """Is this lock about this image? (id first: it survives ``sif add``)."""
    image_id = read_sif(image).image_id if image.is_file() and is_sif(image) else ""
    if lock.image_id and image_id:
        if lock.image_id == image_id:
            return {"status": "pass", "detail": f"lock is from this image (id {image_id})"}
        return {
            "status": "fail",
            "detail": f"lock is from a different image (id {lock.image_id}, this image {image_id})",
        }
    if lock.image_sha256 and sha256:
        if lock.image_sha256 == sha256:
            return {"status": "pass", "detail": "lock is from this image (sha256 matches)"}
        return {
            "status": "fail",
            "detail": f"lock is from a different image (sha256 {lock.image_sha256[:16]}..., "
            f"this image {sha256[:16]}...)",
        }
    return _skip("lock header names no image", diff=False)


def _section_result(name: str, diff, total: int) -> dict[str, Any]:
    if diff.identical:
        return {"status": "pass", "detail": f"All {total} packages match", "diff_count": 0}
    parts = []
    if diff.changed:
        sample = ", ".join(
            f"{k.split(':', 1)[1]} {a} -> {b}" for k, (a, b) in sorted(diff.changed.items())[:5]
        )
        parts.append(f"{len(diff.changed)} changed ({sample})")
    if diff.only_in_b:
        parts.append(f"+{len(diff.only_in_b)} new")
    if diff.only_in_a:
        parts.append(f"-{len(diff.only_in_a)} missing")
    strip = len(name) + 1
    return {
        "status": "fail",
        "detail": f"Package mismatch: {', '.join(parts)}",
        "diff_count": diff.diff_count,
        "changed": {
            k[strip:]: {"lock": a, "image": b} for k, (a, b) in sorted(diff.changed.items())
        },
        "added": sorted(k[strip:] for k in diff.only_in_b),
        "removed": sorted(k[strip:] for k in diff.only_in_a),
    }


def verify_image(
    sif_path: str | os.PathLike,
    def_path: str | os.PathLike | None = None,
    lock_dir: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """The whole verification (see the module docstring for the dict)."""
    image = Path(sif_path)
    result: dict[str, Any] = {
        "sif": {"path": str(image), "sha256": None, "exists": False},
        "def_origin": _skip("No .def provided", diff=False),
        "pip_lock": _skip("No lock file found"),
        "dpkg_lock": _skip("No lock file found"),
        "node_lock": _skip("No lock file found"),
        "lock_origin": _skip("No lock file found", diff=False),
        "lock_source": {"kind": "none", "path": None},
        "overall": "pass",
    }
    if not image.exists():
        result["overall"] = "fail"
        return result
    check_image(image)
    result["sif"]["exists"] = True
    sha256 = image_digest(image) or None
    result["sif"]["sha256"] = sha256
    result["def_origin"] = check_def_origin(image, def_path)

    lock, source, sections = find_lock(image, lock_dir)
    result["lock_source"] = source
    if lock is not None:
        result["lock_origin"] = check_lock_origin(lock, image, sha256)
        try:
            fresh = lock_from_found(capture_found(image))
        except (ProcessError, ToolMissingError) as exc:
            for name in sections:
                result[f"{name}_lock"] = {
                    "status": "fail",
                    "detail": f"capture failed: {exc}",
                    "diff_count": -1,
                }
            result["overall"] = "fail"
            return result
        stored_set, fresh_set = lock.versions_view(), fresh.versions_view()
        if lock.apk or fresh.apk:
            sections = [*sections, "apk"]
        for name in sections:
            prefix = name + ":"
            a = {k: v for k, v in stored_set.items() if k.startswith(prefix)}
            b = {k: v for k, v in fresh_set.items() if k.startswith(prefix)}
            if not a and not b and name in ("node", "apk"):
                result[f"{name}_lock"] = _skip(f"No {name} packages in the lock or the image")
                continue
            diff = compare_version_sets(a, b, a_label="lock", b_label="image")
            result[f"{name}_lock"] = _section_result(name, diff, len(b))
    checks = [v for k, v in result.items() if isinstance(v, dict) and "status" in v]
    if any(c["status"] == "fail" for c in checks):
        result["overall"] = "fail"
    return result


def verify(
    sif_path: str | os.PathLike,
    def_path: str | os.PathLike | None = None,
    lock_dir: str | os.PathLike | None = None,
) -> dict:
    """Verify container integrity.

    Checks: 1. the image exists and its SHA256 (cached in its metadata);
    2. if ``def_path`` is given, its hash against the stored def hash;
    3. if a lock exists (``lock_dir``, the ``.lock`` sidecar, the separate
    lock files beside the image, or the lock embedded in the SIF), the
    versions in the image, read afresh, against it.

    Returns:
        The reference's dict: sif, def_origin, pip_lock, dpkg_lock (plus
        node_lock, lock_origin, lock_source), overall "pass" or "fail".
    """
    return verify_image(sif_path, def_path, lock_dir)
