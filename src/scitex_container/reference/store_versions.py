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
    """Remove old versions, keeping the ``keep`` most recent.

    The ``keep`` newest versions stay, the active one counted among them;
    the active version is never removed (kept beyond ``keep`` when older),
    nor base images (``scitex-base-v*.sif``) or versions with a keep
    marker.  Returns the removed paths.

    Args:
        containers_dir: The directory holding the versions (a store directory or its
            parent containers directory).
    """
    return open_store(containers_dir).cleanup(keep)


#: Leftover patterns the reference's ``cleanup_sifs`` lists beside ``*.sif``.
SIF_LEFTOVERS = ("*.sif.old", "*.sif.backup.*")


def cleanup_sifs(containers_dir: str | os.PathLike, keep: int = 0) -> list[Path]:
    """Remove SIF files and related artifacts in ``containers_dir``.

    Removes what the reference lists: ``*.sif`` files, ``*.sif.old``,
    ``*.sif.backup.*`` and the ``current.sif`` link, keeping the ``keep``
    newest versions.  With ``keep=0`` (the default) that is everything,
    the active version, base images and SIFs that are no versions
    included.  Our safety where the reference allows it: with ``keep`` > 0
    the active version and base images stay and so does the link to a
    kept version; a version with a keep marker always stays; only regular
    files directly in the directory are removed (never through a link).
    Returns the removed paths (in a dry run: what would be removed).

    Args:
        containers_dir: The directory holding the versions (a store directory or its
            parent containers directory).
    """
    store = open_store(containers_dir)
    link = store.link
    had_link = link.is_symlink()
    removed = store.cleanup(keep, remove_active=keep == 0)
    with store.lock():
        rows = store.versions()
        versions = {row.path for row in rows}
        spared = set(store.bases()) if keep > 0 else set()
        extra = sorted(
            p
            for pattern in ("*.sif", *SIF_LEFTOVERS)
            for p in store.dir.glob(pattern)
            if p.is_file() and not p.is_symlink() and p not in versions and p not in spared
        )
        staying = {row.path for row in rows if row.protected} if keep == 0 else versions
        if link.is_symlink():
            target = link.resolve()
            gone = set(removed) | set(extra)
            if (
                not link.exists()
                or target in {p.resolve() for p in gone}
                or (keep == 0 and target not in {p.resolve() for p in staying})
            ):
                extra.append(link)
        elif had_link:
            extra.append(link)  # the store dropped it with the active version
        if not runner.is_dry_run():
            for path in extra:
                if path.is_symlink() or path.exists():
                    remove_path(path)
    return removed + extra


def is_sandbox(path: str | os.PathLike) -> bool:
    """True if ``path`` names a sandbox directory rather than a SIF image.

    As in the reference, a path ending in ``.sif`` is a SIF image; anything
    else (a bare directory name, ``...-sandbox``) is a sandbox.
    """
    return not os.fspath(path).rstrip("/").endswith(".sif")
