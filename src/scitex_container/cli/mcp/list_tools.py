"""`scitex-container mcp list-tools`: the MCP server's tools (-v signatures, -vv descriptions)."""

from __future__ import annotations

import json

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.options import common_options
from scitex_container.cli.output import dumps


def signature(tool: dict) -> str:
    schema = tool["input_schema"]
    required = set(schema.get("required", ()))
    parts = []
    for name, prop in schema["properties"].items():
        kind = prop.get("type") or "array|string"
        default = "" if name in required else f" = {json.dumps(prop.get('default'))}"
        parts.append(f"{name}: {kind}" + default.replace(" = null", " = None"))
    return f"{tool['name']}({', '.join(parts)})"


@click.command("list-tools")
@click.option("-v", "--verbose", count=True, help="-v signatures, -vv also descriptions.")
@common_options
def list_tools(verbose: int) -> int:
    """List the MCP server's tools."""
    from scitex_container.mcp.stdio_server import tool_list

    tools = tool_list()
    if get_options().json:
        rows = [
            {"name": t["name"], "description": t["description"], "parameters": t["input_schema"]}
            for t in tools
        ]
        click.echo(dumps({"package": "scitex-container", "tools": rows}))
        return 0
    lines = [f"scitex-container MCP: {len(tools)} tools"]
    for tool in sorted(tools, key=lambda t: t["name"]):
        lines.append(f"  {signature(tool) if verbose else tool['name']}")
        if verbose > 1:
            lines.append(f"    {tool['description']}")
    click.echo("\n".join(lines))
    return 0
