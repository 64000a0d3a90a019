"""Which store a path names: a store directory or its active link, in either layout.

The reference's flat layout (``scitex-v<version>.sif``, ``scitex-base-v*.sif``,
``current.sif``) and an image directory written by ``build()``
(``<name>/<name>-v<timestamp>.sif`` with the active link ``<name>/<name>.sif``)
are told apart here, so every command opens a store the same way.
"""

from __future__ import annotations

import os
from pathlib import Path

from scitex_container.apptainer.store.core import Store
from scitex_container.apptainer.store.guard import check_store
from scitex_container.apptainer.store.naming import FLAT_SANDBOX, FLAT_SIF, Scheme, image_scheme


def _has(directory: Path, pattern: str) -> bool:
    return next(iter(directory.glob(pattern)), None) is not None


def detect_scheme(directory: str | os.PathLike, sandbox: bool = False) -> Scheme:
    """The naming scheme of the store in ``directory`` (flat layout by default)."""
    d = Path(directory)
    flat = FLAT_SANDBOX if sandbox else FLAT_SIF
    if os.path.lexists(d / flat.active) or _has(d, f"{flat.prefix}*{flat.suffix}"):
        return flat
    own = image_scheme(d.name, sandbox) if d.name and not d.name.startswith(".") else None
    # A killed first build leaves only its log and hidden temporaries: still this store.
    marks = (f"{own.prefix}*", f".{own.prefix}*") if own else ()
    if own and (os.path.lexists(d / own.active) or any(_has(d, m) for m in marks)):
        return own
    return flat


def open_store(location: str | os.PathLike, sandbox: bool = False) -> Store:
    """The store at ``location``: a store directory, or its active link.

    A store another user could steer us with (a planted link, an entry of a
    third user) is refused here, before any command acts on it (:mod:`.guard`).
    """
    store = _open(location, sandbox)
    check_store(store.dir, store.scheme)
    return store


def _open(location: str | os.PathLike, sandbox: bool) -> Store:
    path = Path(location)
    if path.is_symlink() or path.is_file():
        name = path.name
        for scheme in (FLAT_SIF, FLAT_SANDBOX):
            if name == scheme.active:
                return Store(path.parent, scheme)
        if name.endswith("-sandbox"):
            return Store(path.parent, image_scheme(name[: -len("-sandbox")], True))
        return Store(path.parent, image_scheme(name.removesuffix(".sif")))
    return Store(path, detect_scheme(path, sandbox))
