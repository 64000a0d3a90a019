"""The store a command means when it is given none: the one rule for the CLI and MCP.

The containers directory (:func:`~scitex_container.apptainer.deffile.lookup.find_containers_dir`)
holds either the seed's flat layout (``current.sif``) or what our ``build``
makes there, one image directory per def (``containers/<name>/<name>.sif``).
:func:`implied_store` opens it as every command opens a store
(:func:`~scitex_container.apptainer.store.opening.open_stores`) and picks
the one store meant: the only one, else the only one with an active image.
The seed's ``verify`` (no image), ``deploy`` (no source), ``show-status``
and the MCP tools' defaults all go through here.
"""

from __future__ import annotations

from pathlib import Path

from scitex_container.apptainer.deffile.lookup import find_containers_dir
from scitex_container.apptainer.store.core import Store
from scitex_container.apptainer.store.opening import open_stores
from scitex_container.errors import BadInputError


def implied_store(field: str, containers_dir: str | Path | None = None) -> Store:
    """The store of ``containers_dir`` (default: found) a command means by default.

    Raises BadInputError naming ``field`` when it holds several images and
    not exactly one of them is active; NotFoundError when there is no
    containers directory.
    """
    cdir = Path(containers_dir) if containers_dir is not None else find_containers_dir()
    stores = open_stores(cdir)
    if len(stores) == 1:
        return stores[0]
    active = [s for s in stores if s.active_path() is not None]
    if len(active) == 1:
        return active[0]
    what = "no active image" if not active else f"{len(active)} active images"
    raise BadInputError(f"{what} among the {len(stores)} images in {cdir}: give it", field)


def implied_image(field: str, containers_dir: str | Path | None = None) -> Path:
    """The active version of :func:`implied_store` (the seed's CLI and MCP server verify
    ``scitex-v<active>.sif``, the file, not the link); BadInputError naming ``field`` if none."""
    store = implied_store(field, containers_dir)
    active = store.active_path()
    if active is None:
        raise BadInputError(f"no active image in {store.dir}: give it", field)
    return active
