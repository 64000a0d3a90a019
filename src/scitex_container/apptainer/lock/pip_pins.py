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


#: The interpreters that own the system's site directories, by absolute path.
SYSTEM_PYTHONS = ("/usr/local/bin/python3", "/usr/bin/python3")


def env_pips(env: str, rough: Sequence[str], lock: Lock) -> list[str]:
    """The pips that install one environment's pins (its own, never another's).

    Each environment's pip runs as its own interpreter by absolute path
    (``P/bin/python3 -m pip``; the system's ``/usr/local/bin/python3`` or
    ``/usr/bin/python3``), never through ``PATH``: in a ``localimage`` build
    apptainer sources the base image's environment into ``%post``, so
    ``pip3``/``pip``/``python3`` may all be a venv's.  The install is checked
    against the freeze of that same command.
    """
    if env and env != SYSTEM:
        return [f"{env}/bin/python3 -m pip", f"{env}/bin/python -m pip"]
    if lock.pip_envs or (lock.pip_environment not in ("", SYSTEM)):
        return [f"{py} -m pip" for py in SYSTEM_PYTHONS]
    return [*rough, "pip3", "pip", "python3 -m pip"]
