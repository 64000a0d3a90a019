"""Creating a sandbox as a version of one store (``sandbox-<YYYYMMDDTHHMMSSZ>/``, UTC).

A sandbox is built (from a .def, a SIF or another sandbox) under a hidden
temporary name, given its prompt snippet, and only then renamed to its
timestamped name and made current, all through :class:`~.store.Store`, so
list/switch/rollback/cleanup behave exactly as for SIF versions.
"""

from __future__ import annotations

import os
from pathlib import Path

from scitex_container.apptainer import tool
from scitex_container.apptainer.building.atomic import build_image, check_source
from scitex_container.apptainer.store.access import make_dir
from scitex_container.apptainer.store.core import Store
from scitex_container.apptainer.store.naming import FLAT_SANDBOX
from scitex_container.errors import NotFoundError


def sandbox_store(containers_dir: str | os.PathLike) -> Store:
    return Store(Path(containers_dir), FLAT_SANDBOX)


def _finalize_ps1(tmp: Path) -> dict:
    from scitex_container.apptainer.sandbox.maintenance import sandbox_configure_ps1

    sandbox_configure_ps1(tmp)
    return {"ps1_configured": True}


def sandbox_create(
    source: str | os.PathLike,
    containers_dir: str | os.PathLike | None = None,
    *,
    output_dir: str | os.PathLike | None = None,
    fakeroot: bool | None = None,
) -> Path:
    """Build a sandbox directory from a SIF image or .def file.

    Creates ``<containers_dir>/sandbox-YYYYMMDDTHHMMSSZ/`` (UTC, as image versions;
    the reference named them ``sandbox-YYYYMMDD_HHMMSS``, still read) (``-2``... if one
    already exists this second) and points ``current-sandbox`` at it.
    With ``output_dir`` the sandbox is built at exactly that path instead
    (atomically; no link changes).

    Args:
        fakeroot: Force ``--fakeroot`` on (True) or off (False); None chooses it (on
            when not root, or when root lacks the capabilities).

    Returns:
        Path to the created sandbox directory.

    Raises:
        NotFoundError: the source does not exist.
        ProcessError: apptainer failed (nothing is left behind).
    """
    source = Path(source)
    if not source.exists():
        raise NotFoundError(f"source not found: {source}", str(source))
    meta = {"source": str(source.resolve())}
    if output_dir is not None:
        out = Path(output_dir)
        build_image(
            source, out, sandbox=True, fakeroot=fakeroot, finalize=_finalize_ps1, metadata=meta
        )
        return out.absolute()
    store = sandbox_store(containers_dir if containers_dir is not None else source.parent)
    check_source(source, None)  # a refused source or a missing tool: nothing made first
    tool.detect_container_cmd()
    make_dir(store.dir)  # a dry run creates nothing, and refuses what the real run would
    with store.build_lock():
        final = store.path_of(store.new_version())
        build_image(
            source,
            final,
            sandbox=True,
            fakeroot=fakeroot,
            finalize=_finalize_ps1,
            metadata=meta,
            publish=lambda tmp, out, meta: store.publish(tmp, out, meta=meta),
        )
    return final
