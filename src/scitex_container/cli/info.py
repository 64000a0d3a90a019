"""`scitex-container info`: the container command, its version and what this host allows."""

from __future__ import annotations

import click

from .context import common_options, get_options
from .output import emit


@click.command()
@common_options
def info() -> None:
    """Show the container command, its version and this host's capabilities."""
    from ..apptainer import tool

    cmd = tool.detect_container_cmd()
    caps = tool.probe_host()
    data = {"command": cmd, "version": tool.container_version(cmd), **caps.to_dict()}
    emit(data, get_options())
