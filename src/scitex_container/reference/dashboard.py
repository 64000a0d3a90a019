"""The seed's status dashboard: Apptainer versions, host packages and Compose stacks at once.

What the seed's ``show-status`` (and its MCP ``status`` tool) reported, in its
shape: ``{"apptainer": {containers_dir, active, mode, versions},
"host": {group: {installed, version, binaries}}, "docker": {"dev": ...,
"prod": ...}}``.  A section that cannot be read holds ``{"error": ...}``;
this never raises.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

ENVS = ("dev", "prod")


def _apptainer(containers_dir: str | os.PathLike | None) -> dict[str, Any]:
    from scitex_container.apptainer.deffile.lookup import find_containers_dir
    from scitex_container.apptainer.store.implied import implied_store
    from scitex_container.reference.store_versions import get_active_version, list_versions

    try:
        cdir = Path(containers_dir) if containers_dir is not None else find_containers_dir()
        store = implied_store("containers_dir", cdir)  # as the CLI and MCP pick it
        active = get_active_version(store.dir)
        link = store.link
        mode = None
        if link.is_symlink():
            mode = "sandbox" if link.resolve().is_dir() else "SIF"
        elif active:
            mode = "SIF"
        return {
            "containers_dir": str(cdir),
            "active": active,
            "mode": mode,
            "versions": list_versions(store.dir),
        }
    except Exception as exc:  # the dashboard reports, it never raises
        return {"error": str(exc)}


def _docker(env: str, project_dir: str | os.PathLike | None) -> dict[str, Any]:
    from scitex_container.docker.actions import status

    try:
        return dict(status(env=env, project_dir=project_dir))
    except FileNotFoundError:
        return {"error": "no compose file found"}
    except Exception as exc:
        return {"error": str(exc)}


def status_dashboard(
    containers_dir: str | os.PathLike | None = None,
    project_dir: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """The seed's dashboard of Apptainer, host packages and the dev/prod Compose stacks.

    Args:
        containers_dir: The containers directory (default: found as for ``build``).
        project_dir: Directory of the compose files (default: searched upward from here).

    Returns:
        ``{"apptainer": {...}, "host": {...}, "docker": {"dev": {...}, "prod": {...}}}``;
        a section that could not be read is ``{"error": "..."}``.
    """
    payload: dict[str, Any] = {"apptainer": _apptainer(containers_dir)}
    try:
        from scitex_container.host.check import check_packages

        payload["host"] = check_packages()
    except Exception as exc:
        payload["host"] = {"error": str(exc)}
    payload["docker"] = {env: _docker(env, project_dir) for env in ENVS}
    return payload
