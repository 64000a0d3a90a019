"""The reference's SIF version functions, all over the one store.

They work on the reference's flat layout and on an image directory written
by ``build()`` alike (:func:`~scitex_container.apptainer.store.opening.open_store`
tells them apart).  Versions sort as versions (newest first), not by
modification time.
"""

from __future__ import annotations

import os
from pathlib import Path

from scitex_container.apptainer.store.opening import open_store
from scitex_container.files.fsutil import remove_path
from scitex_container.process import runner


def list_versions(containers_dir: str | os.PathLike) -> list[dict]:
    """List all versioned SIFs with metadata.

    Args:
        containers_dir: The directory holding the versions (a store directory or its
            parent containers directory).

    Returns:
        Dicts with keys version, path, size, date, active (plus size_bytes
        and protected), newest version first.
    """
    return [row.row() for row in open_store(containers_dir).versions()]


def get_active_version(containers_dir: str | os.PathLike) -> str | None:
    """Version string of the active SIF, or None if there is no valid active link.

    Args:
        containers_dir: The directory holding the versions (a store directory or its
            parent containers directory).
    """
    return open_store(containers_dir).active_version()


def switch_version(version: str, containers_dir: str | os.PathLike, use_sudo: bool = False) -> None:
    """Atomically point the active link (``current.sif``) at ``scitex-v{version}.sif``.

    A temporary symlink is renamed over the old one (no ``ln``/``mv``
    process unless ``use_sudo`` is needed for an unwritable directory).

    Args:
        containers_dir: The directory holding the versions (a store directory or its
            parent containers directory).

    Raises:
        NotFoundError (a FileNotFoundError): unknown version; lists the available ones.
    """
    open_store(containers_dir).switch(version, use_sudo=use_sudo)


switch = switch_version


def rollback(containers_dir: str | os.PathLike, use_sudo: bool = False) -> str:
    """Switch to the version before the active one, in version order.

    Args:
        containers_dir: The directory holding the versions (a store directory or its
            parent containers directory).
        use_sudo: Run the link change (or the tool) through ``sudo -n`` where the target
            is not writable; never by default.

    Returns:
        The version string now active.

    Raises:
        StoreError (a RuntimeError): no active version, or none older.
    """
    return open_store(containers_dir).rollback(use_sudo=use_sudo)


def cleanup(containers_dir: str | os.PathLike, keep: int = 3) -> list[Path]:
    """Remove old versions, keeping the ``keep`` newest.

    Never removes the active version, base images (``scitex-base-v*.sif``)
    or versions with a keep marker; returns the removed paths.

    Args:
        containers_dir: The directory holding the versions (a store directory or its
            parent containers directory).
    """
    return open_store(containers_dir).cleanup(keep)


def cleanup_sifs(containers_dir: str | os.PathLike, keep: int = 0) -> list[Path]:
    """Remove SIF versions and leftovers (``*.sif.old``, ``*.sif.backup.*``).

    Keeps the ``keep`` newest versions.  With ``keep=0`` (the default) the
    active version and the ``current.sif`` link go too, as the reference
    documents; base images and versions with a keep marker always stay.

    Args:
        containers_dir: The directory holding the versions (a store directory or its
            parent containers directory).
    """
    store = open_store(containers_dir)
    removed = store.cleanup(keep, remove_active=keep == 0)
    with store.lock():
        leftovers = sorted(
            p for pattern in ("*.sif.old", "*.sif.backup.*") for p in store.dir.glob(pattern)
        )
        dangling = store.link.is_symlink() and not store.link.exists()
        if dangling:
            leftovers.append(store.link)
        if not runner.is_dry_run():
            for path in leftovers:
                remove_path(path)
    return removed + leftovers


def is_sandbox(path: str | os.PathLike) -> bool:
    """True if ``path`` names a sandbox directory rather than a SIF image.

    As in the reference, a path ending in ``.sif`` is a SIF image; anything
    else (a bare directory name, ``...-sandbox``) is a sandbox.
    """
    return not os.fspath(path).rstrip("/").endswith(".sif")
