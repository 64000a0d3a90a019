"""The reference's sandbox version functions, all over the one store.

Sandboxes are versions of a store with the flat sandbox scheme
(``sandbox-<timestamp>/`` and the active link ``current-sandbox``);
:mod:`scitex_container.apptainer.sandbox.create` makes them.
"""

from __future__ import annotations

import os
from pathlib import Path

from scitex_container.apptainer.store.opening import open_store


def list_sandboxes(containers_dir: str | os.PathLike) -> list[dict]:
    """All versioned sandboxes: dicts with version, path, date, active (and protected).

    Newest version first (timestamps sort as time).

    Args:
        containers_dir: The directory holding the versions (a store directory or its
            parent containers directory).
    """
    rows = []
    for row in open_store(containers_dir, sandbox=True).versions():
        data = row.row()
        for key in ("size", "size_bytes"):
            data.pop(key)
        rows.append(data)
    return rows


def get_active_sandbox(containers_dir: str | os.PathLike) -> str | None:
    """Timestamp of the sandbox ``current-sandbox`` points at, or None.

    Args:
        containers_dir: The directory holding the versions (a store directory or its
            parent containers directory).
    """
    return open_store(containers_dir, sandbox=True).active_version()


def switch_sandbox(version: str, containers_dir: str | os.PathLike, use_sudo: bool = False) -> None:
    """Atomically point ``current-sandbox`` at ``sandbox-{version}/``.

    Args:
        containers_dir: The directory holding the versions (a store directory or its
            parent containers directory).
        use_sudo: Run the link change (or the tool) through ``sudo -n`` where the target
            is not writable; never by default.

    Raises:
        NotFoundError: unknown version (the message lists the available ones).
    """
    open_store(containers_dir, sandbox=True).switch(version, use_sudo=use_sudo)


def rollback_sandbox(containers_dir: str | os.PathLike, use_sudo: bool = False) -> str:
    """Switch to the sandbox before the current one (by timestamp); return its timestamp.

    Args:
        containers_dir: The directory holding the versions (a store directory or its
            parent containers directory).
        use_sudo: Run the link change (or the tool) through ``sudo -n`` where the target
            is not writable; never by default.
    """
    return open_store(containers_dir, sandbox=True).rollback(use_sudo=use_sudo)


def cleanup_sandboxes(containers_dir: str | os.PathLike, keep: int = 5) -> list[Path]:
    """Remove old sandboxes, keeping the ``keep`` newest; never the active or protected ones.

    Args:
        containers_dir: The directory holding the versions (a store directory or its
            parent containers directory).
    """
    return open_store(containers_dir, sandbox=True).cleanup(keep)
