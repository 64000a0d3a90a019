"""`scitex-container mcp start` (run the stdio server) and `mcp install` (the client config)."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.options import common_options
from scitex_container.cli.output import emit


@click.command("start", context_settings={"help_option_names": ["--help"]})
@click.option(
    "-t",
    "--transport",
    type=click.Choice(["stdio", "sse", "http"]),
    default="stdio",
    show_default=True,
    hidden=True,  # the seed's spellings of a seed-only command: accepted, not advertised
    help="Transport: stdio only here (the seed's sse/http are refused: no network listener).",
)
@click.option(
    "-h", "--host", default="0.0.0.0", hidden=True, help="The seed's http host (unused: stdio)."
)
@click.option(
    "-p", "--port", default=8086, type=int, hidden=True, help="The seed's http port (unused)."
)
@click.option(
    "--root",
    "roots",
    multiple=True,
    metavar="DIR",
    help="A directory clients may name paths under (repeatable; see below).",
)
@click.option("-y", "--yes", "seed_yes", is_flag=True, help="Accepted for the seed's scripts.")
@common_options
def start(transport: str, host: str, port: int, roots: tuple[str, ...], seed_yes: bool) -> int:
    """Run the MCP server on stdin/stdout (the same as `scitex-container-mcp`).

    Roots: a client may name paths only under the server's roots: the --root
    directories, else $SCITEX_CONTAINER_MCP_ROOTS, else the working directory.
    A root `/` is refused unless given explicitly (--root /): a server
    started from `/` would confine nothing.
    """
    if transport != "stdio":
        raise click.BadParameter(
            f"`{transport}` would listen on the network; this server speaks stdio only",
            param_hint="--transport",
        )
    if get_options().dry_run:
        emit({"transport": transport}, get_options(), text="would start the MCP server on stdio")
        return 0
    import os

    from scitex_container.mcp.stdio_server import main

    main([f"--root={r}" for r in roots], exit_now=os._exit)
    return 0


@click.command("install")
@click.option("--claude-code", is_flag=True, help="Show the Claude Code config snippet only.")
@click.option("-y", "--yes", "seed_yes", is_flag=True, help="Accepted for the seed's scripts.")
@common_options
def install(claude_code: bool, seed_yes: bool) -> int:
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
