"""The seed's snapshot schema: shaping our findings into it, and reading older documents.

The seed's ``env_snapshot`` wrote ``schema_version`` ``"1.0"`` with
``container.version/sif_path/sif_sha256/def_hash`` (each left out when
unknown), ``host.<package> = {installed, version}`` (``version`` ``""``
when unknown), ``dev_repos[] = {name, path, commit?, branch?, dirty,
error?}`` and ``lock_files = {"pip": sha256, "dpkg": sha256}``.  We write
exactly those fields, with our own beside them (never renamed or
retyped), and :func:`read_snapshot` reads a seed document, an earlier one
of ours (``schema_version`` ``1``) and a current one alike.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

#: Which file of a kind ``lock_files`` names: the seed's names first, then ours.
LOCK_PREFERENCE = {
    "pip": ("requirements_lock.txt", "requirements.lock", "requirements-lock.txt"),
    "dpkg": ("dpkg_lock.txt", "dpkg.lock", "dpkg-lock.txt"),
    "node": ("node-lock.txt",),
}
#: Our container fields (added to the seed's), null when unknown.
CONTAINER_FIELDS = (
    "containers_dir",
    "command",
    "apptainer_version",
    "active_version",
    "image_path",
    "image_sha256",
    "inputs_hash",
    "lock_hash",
    "image_signer",
)


def host_section(packages: dict) -> dict:
    """``{group: {"installed", "version", "binaries"}}``; ``version`` is ``""`` when unknown."""
    return {
        name: {
            "installed": bool(info.get("installed")),
            "version": info.get("version") or "",
            "binaries": list(info.get("binaries") or []),
        }
        for name, info in (packages or {}).items()
    }


def dev_repo(entry: dict, errors: list[str]) -> dict:
    """One repo as the seed wrote it: commit/branch left out when unknown, an ``error`` if any."""
    out: dict[str, Any] = {"name": entry["name"], "path": entry["path"]}
    for key in ("commit", "branch"):
        if entry.get(key) is not None:
            out[key] = entry[key]
    out["dirty"] = bool(entry.get("dirty"))
    out["untracked"] = entry.get("untracked")
    prefix = f"dev_repos[{entry['path']}]: "
    said = [e[len(prefix) :] for e in errors if e.startswith(prefix)]
    if said:
        out["error"] = said[0]
    return out


def container_section(ours: dict) -> dict:
    """The seed's ``version``/``sif_path``/``sif_sha256``/``def_hash`` first, then ours."""
    out: dict[str, Any] = {}
    if ours.get("containers_dir") is not None:
        out["version"] = ours.get("active_version")
    path = ours.get("image_path")
    if path and Path(path).is_file():
        out["sif_path"] = path
        if ours.get("image_sha256"):
            out["sif_sha256"] = ours["image_sha256"]
        def_hash = Path(path).with_suffix(".def-hash")  # the seed's sidecar
        if def_hash.is_file():
            out["def_hash"] = def_hash.read_text().strip()
    out.update(ours)
    return out


def lock_map(containers_dir: str | None, entries: list[dict]) -> dict:
    """``{"pip": sha256, "dpkg": sha256, ...}``: the containers directory's lock of each kind
    (the seed's names first), else one beside the active image."""
    out: dict[str, str] = {}
    for kind, names in LOCK_PREFERENCE.items():
        candidates = [e for e in entries if e["name"] in names]
        candidates.sort(
            key=lambda e: (
                str(Path(e["path"]).parent) != (containers_dir or ""),
                names.index(e["name"]),
            )
        )
        if candidates:
            out[kind] = candidates[0]["sha256"]
    return out


def read_snapshot(data: dict) -> dict:
    """Any snapshot (the seed's ``"1.0"``, our earlier ``1``, or current) in the current shape.

    Missing fields of ours are filled with null/empty; nothing present is
    changed except what an earlier document of ours named differently
    (``host.packages`` -> ``host``, machine facts -> ``system``, the list
    ``lock_files`` -> ``lock_file_entries`` plus the ``lock_files`` map).
    """
    doc = copy.deepcopy(data)
    if doc.get("schema_version") == 1:  # ours before the seed's schema was restored
        host = doc.get("host") or {}
        doc["host"] = host_section(host.pop("packages", {}) or {})
        doc["system"] = host
        entries = doc.get("lock_files") or []
        doc["lock_file_entries"] = entries
        container = doc.get("container") or {}
        doc["lock_files"] = lock_map(container.get("containers_dir"), entries)
        doc["container"] = container_section(container)
        doc["dev_repos"] = [dev_repo(r, doc.get("errors") or []) for r in doc.get("dev_repos", [])]
        doc["schema_version"] = "1.0"
    doc.setdefault("tool", None)
    doc.setdefault("system", {})
    doc.setdefault("lock_file_entries", [])
    doc.setdefault("errors", [])
    container = doc.setdefault("container", {})
    for key in CONTAINER_FIELDS:
        container.setdefault(key, None)
    container.setdefault("images", [])
    for repo in doc.setdefault("dev_repos", []):
        repo.setdefault("untracked", None)
    for info in doc.setdefault("host", {}).values():
        if isinstance(info, dict):
            info.setdefault("binaries", [])
    doc.setdefault("lock_files", {})
    return doc
