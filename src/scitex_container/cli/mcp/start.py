"""`scitex-container mcp start` (run the stdio server) and `mcp install` (the client config)."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.options import common_options
from scitex_container.cli.output import emit


@click.command("start")
@click.option(
    "-t",
    "--transport",
    type=click.Choice(["stdio"]),
    default="stdio",
    show_default=True,
    help="Transport (stdio only: the server is for a local agent).",
)
def start(transport: str) -> None:
    """Run the MCP server on stdin/stdout (the same as `scitex-container-mcp`)."""
    from scitex_container.mcp.stdio_server import main

    main()


@click.command("install")
@click.option("--claude-code", is_flag=True, help="Show the Claude Code config snippet only.")
@common_options
def install(claude_code: bool) -> int:
    """Show how to register the server with an MCP client (changes nothing)."""
    config = {"mcpServers": {"scitex-container": {"command": "scitex-container-mcp", "args": []}}}
    data = {
        "install_command": "pip install scitex-container",
        "config": config,
        "verify_commands": ["scitex-container mcp doctor"],
    }
    import json

    text = json.dumps(config if claude_code else data, indent=2)
    emit(data, get_options(), text=text)
    return 0
