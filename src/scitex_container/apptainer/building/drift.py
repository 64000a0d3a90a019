"""Whether a def's inputs still are those an image was built from (for ``verify --def``).

The same inputs hash ``build`` and ``status`` decide with
(:mod:`.inputs`), compared with the one the image's metadata recorded, so
``verify --def`` fails exactly when ``status`` says rebuild.  Kept apart
from :mod:`.decision` (which needs the store) so the verifier imports
little.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scitex_container.apptainer.building.inputs import BuildInputs, compute_inputs
from scitex_container.apptainer.store.metadata import read_metadata
from scitex_container.apptainer.store.naming import (
    FLAT_SANDBOX,
    FLAT_SIF,
    image_scheme,
    version_key,
)
from scitex_container.errors import ScitexError


def inputs_changed(image: Path, def_path: Path) -> str | None:
    """Why the inputs differ from those ``image`` was built from (what ``status`` compares).

    The def's text alone is not the build's input: its ``%files`` sources
    and build arguments are too.  None when they match, or when the image
    records no inputs hash (an image not built by ``build``).
    """
    try:
        meta = read_metadata(image)
    except ScitexError:
        return None
    if meta is None or not meta.inputs_hash:
        return None
    try:
        inputs = compute_inputs(
            def_path, build_args=dict(meta.build_args or {}), sandbox=meta.sandbox
        )
    except ScitexError as exc:
        return f"the def's inputs cannot be read: {exc}"
    now = inputs.digest
    if meta.matches(now):
        return None
    action = _status_action(image, now)
    what = (
        changed_inputs(meta.inputs, inputs) or "a %files source, a base image or a build argument"
    )
    return (
        f"def text matches but its inputs changed since this version ({what}): "
        f"inputs {now[:16]}... recorded {meta.inputs_hash[:16]}...; `status` says {action}"
    )


def changed_inputs(recorded: Mapping[str, Any] | None, now: BuildInputs) -> str:
    """Which inputs differ, by the breakdown the build recorded (``""`` without one)."""
    if not isinstance(recorded, Mapping):
        return ""
    said: list[str] = []
    for key, label in (("images", "base image"), ("files", "%files source")):
        was = _pairs(recorded.get(key))
        if was is None:
            continue
        is_ = dict(getattr(now, key))
        for name in sorted(was.keys() | is_.keys()):
            if name not in is_:
                said.append(f"{label} {name} no longer used")
            elif name not in was:
                said.append(f"{label} {name} added")
            elif was[name] != is_[name]:
                said.append(f"{label} {name} changed")
    return "; ".join(said)


def _pairs(value: Any) -> dict[str, str] | None:
    """``[[name, digest], ...]`` as a dict; None when not of that shape (an older record)."""
    if not isinstance(value, list):
        return None
    if not all(isinstance(p, list | tuple) and len(p) == 2 for p in value):
        return None
    return {str(name): str(digest) for name, digest in value}


def _status_action(image: Path, inputs_hash: str) -> str:
    """What ``status`` says for these inputs (its order: the active version, then the
    newest kept one built from them): nothing to do, activate V, or rebuild.

    Read from the image's folder by name (no store object: the verifier stays
    light), the same lookup as :func:`.decision.unchanged_version`.
    """
    folder = Path(os.path.realpath(image)).parent
    own = [image_scheme(folder.name), image_scheme(folder.name, True)]
    try:
        names = os.listdir(folder)
    except OSError:
        return "rebuild"
    for scheme in (*own, FLAT_SIF, FLAT_SANDBOX):
        versions = [v for v in (scheme.version_of(n) for n in names) if v is not None]
        if not versions:
            continue
        active = None
        if os.path.islink(folder / scheme.active):
            active = scheme.version_of(os.readlink(folder / scheme.active))
        newest_first = sorted(versions, key=version_key, reverse=True)
        for version in sorted(newest_first, key=lambda v: v != active):
            try:
                meta = read_metadata(folder / scheme.name_of(version))
            except ScitexError:
                continue
            if meta is not None and meta.matches(inputs_hash):
                if version == active:
                    return f"nothing to do: the active version {version} has these inputs"
                return f"activate {version}: inputs unchanged since {version}"
        return "rebuild"
    return "rebuild"
