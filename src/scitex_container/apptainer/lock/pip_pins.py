"""Which pip entries a locked def pins, and with which environment's pip."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from scitex_container.apptainer.lock.lockfile import Lock
from scitex_container.apptainer.lock.pyenvs import SYSTEM
from scitex_container.apptainer.lock.syntax import PipMap


def pins_of(
    lock: Lock, values: Mapping[str, str] | None = None, manager: str = "pip"
) -> tuple[list[str], list[str]]:
    """Requirement lines to pin, and raw lines that cannot be pinned (editable, VCS).

    ``values``: one environment's entries (default ``[pip]``), whose
    version-set keys start with ``manager``.  Distributions a dpkg package
    installed are left to the apt stanza.
    """
    pins, unpinnable = [], []
    for key, version in (lock.pip if values is None else values).items():
        if f"{manager}:{PipMap.key(key)}" in lock.provided_by:
            continue
        if version:
            pins.append(f"{key}=={version}")
        elif " @ " in key:
            pins.append(key)
        else:
            unpinnable.append(key)
    return pins, unpinnable


def env_pips(env: str, rough: Sequence[str], lock: Lock) -> list[str]:
    """The pips that install one environment's pins (its own, never another's)."""
    if env and env != SYSTEM:
        return [f"{env}/bin/python3 -m pip", f"{env}/bin/pip"]
    if lock.pip_envs:  # the system's, in an image with several environments
        return ["pip3", "pip", "python3 -m pip"]
    return [*rough, "pip3", "pip", "python3 -m pip"]
