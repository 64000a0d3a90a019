"""Which container command to run: ``$SCITEX_CONTAINER_CMD``, else apptainer, else singularity.

Kept apart from :mod:`.tool` (which re-exports it) so that ``verify --key``'s
early start (:mod:`scitex_container.cli.early`) finds the command without
loading the runner and the host probes first.
"""

from __future__ import annotations

import os

from scitex_container import envvars
from scitex_container.errors import ToolMissingError
from scitex_container.procgroup import which

INSTALL_HINT = (
    "install Apptainer >= 1.3 (https://apptainer.org/docs/admin/main/installation.html; "
    "on Debian 12 run scripts/setup-host.sh), or set "
    f"{envvars.CONTAINER_CMD} to the binary to use"
)


def detect_container_cmd() -> str:
    """Detect the apptainer or singularity command.

    ``$SCITEX_CONTAINER_CMD`` (a name on PATH or a path) wins when set.

    Returns:
        The container command ('apptainer' or 'singularity', or the override).

    Raises:
        ToolMissingError (a FileNotFoundError): if neither command is found.
    """
    override = os.environ.get(envvars.CONTAINER_CMD, "").strip()
    if override:
        if which(override):
            return override
        raise ToolMissingError(override, f"it is named by ${envvars.CONTAINER_CMD}")
    for name in ("apptainer", "singularity"):
        if which(name):
            return name
    raise ToolMissingError("apptainer", INSTALL_HINT)
