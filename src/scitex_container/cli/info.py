"""`scitex-container info`: the container command, its version and what this host allows."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.options import common_options
from scitex_container.cli.output import emit


@click.command()
@common_options
def info() -> None:
    """Show the container command, its version and this host's capabilities."""
    from scitex_container.apptainer import tool

    cmd = tool.detect_container_cmd()
    caps = tool.probe_host()
    data = {"command": cmd, "version": tool.container_version(cmd), **caps.to_dict()}
    emit(data, get_options())
