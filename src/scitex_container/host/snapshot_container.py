"""The container part of the environment snapshot: active images and lock files.

The active versions of a containers directory are read through the image
store (:func:`scitex_container.apptainer.store.opening.open_store`), which knows
every layout: flat SIFs (``current.sif -> scitex-v<version>.sif``), flat
sandboxes (``current-sandbox -> sandbox-<timestamp>/``) and one image per
directory (``<name>/<name>.sif -> <name>-v<version>.sif``, likewise
``<name>-sandbox``).  An active link is a symlink named ``*.sif`` or
``*-sandbox`` directly in the containers directory or one level below.  Versions and their sidecars
(:mod:`scitex_container.apptainer.store.sidecars`) are read, never written (except
the sha256 cache kept in the version's metadata, outside a dry run).
"""

from __future__ import annotations

import os
from pathlib import Path

from scitex_container.apptainer.store import sidecars as layout
from scitex_container.apptainer.store.metadata import cached_sha256, read_metadata
from scitex_container.files.fsutil import sha256_file

#: The lock files the seed's freeze wrote and its snapshot read, as (kind, name).
SEED_LOCK_NAMES = (
    ("pip", "requirements_lock.txt"),
    ("pip", "requirements.lock"),
    ("dpkg", "dpkg_lock.txt"),
    ("dpkg", "dpkg.lock"),
)


def _is_link_name(name: str) -> bool:
    return name.endswith((".sif", "-sandbox")) and not name.startswith(".")


def _links(containers_dir: Path) -> list[Path]:
    dirs = [
        containers_dir,
        *sorted(p for p in containers_dir.iterdir() if p.is_dir() and not p.is_symlink()),
    ]
    out: list[Path] = []
    for parent in dirs:
        out += sorted(p for p in parent.iterdir() if _is_link_name(p.name) and p.is_symlink())
    return out


def active_images(containers_dir: str | os.PathLike) -> list[dict]:
    """``[{"name", "version", "link", "path"}]`` for every active link, sorted by link."""
    from scitex_container.apptainer.store.opening import open_store
    from scitex_container.errors import PathKindError

    images: list[dict] = []
    for link in _links(Path(containers_dir)):
        try:
            store = open_store(link)
        except PathKindError:  # a dangling active link of an empty store: no active image
            continue
        version = store.active_version()
        target = store.active_path()
        if version is None or target is None or not target.exists():
            continue
        images.append(
            {
                "name": store.scheme.prefix.removesuffix("-").removesuffix("-v"),
                "version": version,
                "link": str(link),
                "path": str(os.path.realpath(target)),
            }
        )
    return images


def _sha256(path: Path) -> str | None:
    if path.is_dir():
        return None  # a sandbox has no single file digest
    return cached_sha256(path)


def _file_hash(path: Path) -> str | None:
    return sha256_file(path) if path.is_file() else None


def describe_image(image: dict) -> dict:
    """Add the image digest, inputs hash, lock hash and recorded signer to an active image."""
    from scitex_container.apptainer.signing.claim import signature_claim

    path = Path(image["path"])
    meta = read_metadata(path)
    lock = layout.sidecar(path, layout.LOCK_SUFFIX)
    return {
        **image,
        "sandbox": path.is_dir(),
        "image_sha256": _sha256(path),
        "inputs_hash": meta.inputs_hash if meta is not None else None,
        "lock_hash": _file_hash(lock),
        "signature": signature_claim(path),
    }


def lock_files(containers_dir: str | os.PathLike, images: list[dict]) -> list[dict]:
    """The lock files this project writes, with their sha256.

    The seed's lock names (:data:`SEED_LOCK_NAMES`) and ``freeze``'s files
    (:data:`layout.FREEZE_FILES`) in the containers
    directory and in each active image's directory, and the ``.lock``
    sidecar of each active image.
    """
    dirs = [Path(containers_dir)] + [Path(i["path"]).parent for i in images]
    found: dict[str, dict] = {}
    names = [*SEED_LOCK_NAMES, *((k, n) for k, n in sorted(layout.FREEZE_FILES.items()))]
    for directory in dict.fromkeys(dirs):
        for kind, name in names:
            path = directory / name
            if path.is_file():
                found[str(path)] = {
                    "name": name,
                    "kind": kind,
                    "path": str(path),
                    "sha256": sha256_file(path),
                }
    for image in images:
        path = layout.sidecar(Path(image["path"]), layout.LOCK_SUFFIX)
        if path.is_file():
            found[str(path)] = {
                "name": path.name,
                "kind": "lock",
                "path": str(path),
                "sha256": sha256_file(path),
            }
    return [found[k] for k in sorted(found)]
