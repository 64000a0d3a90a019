"""Whether a def's inputs still are those an image was built from (for ``verify --def``).

The same inputs hash ``build`` and ``status`` decide with
(:mod:`.inputs`), compared with the one the image's metadata recorded, so
``verify --def`` fails exactly when ``status`` says rebuild.  Kept apart
from :mod:`.decision` (which needs the store) so the verifier imports
little.
"""

from __future__ import annotations

from pathlib import Path

from scitex_container.apptainer.building.inputs import compute_inputs
from scitex_container.apptainer.store.metadata import read_metadata
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
        now = compute_inputs(
            def_path, build_args=dict(meta.build_args or {}), sandbox=meta.sandbox
        ).digest
    except ScitexError as exc:
        return f"the def's inputs cannot be read: {exc}"
    if meta.matches(now):
        return None
    return (
        "def text matches but its inputs changed since this version "
        f"(a %files source or a build argument): inputs {now[:16]}... "
        f"recorded {meta.inputs_hash[:16]}...; `status` says {_status_action(image, now)}"
    )


def _status_action(image: Path, inputs_hash: str) -> str:
    """What ``status`` says for these inputs: reuse a kept version, or rebuild."""
    from scitex_container.apptainer.building.decision import unchanged_version
    from scitex_container.apptainer.store.opening import open_store

    try:
        store = open_store(image)
        found = unchanged_version(store, inputs_hash)
    except ScitexError:
        found = None
    if found is None:
        return "rebuild"
    version = store.scheme.version_of(found.name) or found.name
    return f"activate {version}: inputs unchanged since {version}"
