"""`scitex-container mcp ...`: the MCP server's diagnostics, tool list and start (as the seed's)."""

from __future__ import annotations

import click

from scitex_container.cli.mcp.doctor import doctor
from scitex_container.cli.mcp.list_tools import list_tools
from scitex_container.cli.mcp.start import install, start
from scitex_container.cli.seed.help_recursive import group_option


@click.group()
@group_option
def mcp() -> None:
    """The MCP server for AI agents (`scitex-container-mcp`)."""


for _command in (doctor, list_tools, start, install):
    mcp.add_command(_command)
