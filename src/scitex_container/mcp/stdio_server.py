"""``scitex-container-mcp``: the MCP server over stdio (the ``mcp`` SDK's low-level server).

Tools are listed from :mod:`.tool_catalog` and called through
:mod:`.tool_call`.  A tool's answer is its command's JSON: the result as
``structured_content`` (and as text), or the command's error object with
``is_error`` set (a check that failed, a policy refusal with its verdict).
Bad input (an unknown tool, a malformed or unknown argument, a path outside
the server's roots, or anything the command itself refuses as bad usage) is
a JSON-RPC ``invalid params`` error naming the field, and nothing runs.
The server writes only protocol messages on stdout.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from scitex_container._version import __version__
from scitex_container.errors import BadInputError
from scitex_container.mcp import tool_call, tool_catalog

INSTRUCTIONS = (
    "scitex-container: build, version, verify and run Apptainer images and Compose stacks. "
    "Every tool returns the JSON of the matching `scitex-container --json` command; "
    "tools that change something accept dry_run; the site policy applies as in the CLI."
)


def tool_list() -> list[dict[str, Any]]:
    """Every tool as ``{name, description, input_schema}`` (also for ``mcp list-tools``)."""
    return [
        {"name": t.name, "description": t.description, "input_schema": t.input_schema()}
        for t in tool_catalog.TOOLS
    ]


def _invalid(message: str, field: str | None, data: Any = None) -> Exception:
    import mcp_types as types
    from mcp.shared.exceptions import MCPError

    detail = {"field": field, **(data or {})} if field else (data or {})
    text = f"{field}: {message}" if field else message
    return MCPError(code=types.INVALID_PARAMS, message=text, data=detail or None)


def call(name: str, arguments: dict[str, Any] | None) -> tool_call.CallOutcome:
    """Run tool ``name``; bad input raises the JSON-RPC error, before anything runs."""
    spec = tool_catalog.find(name)
    if spec is None:
        raise _invalid(f"unknown tool `{name}`", "name")
    try:
        argv = tool_call.build_argv(spec, arguments)
    except BadInputError as exc:
        raise _invalid(exc.detail, exc.where) from None
    outcome = tool_call.run_cli(argv)
    if outcome.bad_input:
        payload = outcome.payload if isinstance(outcome.payload, dict) else {}
        raise _invalid(str(payload.get("error", "bad input")), None, payload)
    return outcome


def build_server() -> Any:
    """The low-level MCP server with our two handlers."""
    import mcp_types as types
    from mcp.server.lowlevel import Server

    async def list_tools(_ctx: Any, _params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[types.Tool(**t) for t in tool_list()])

    async def call_tool(_ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        outcome = call(params.name, params.arguments)
        data = outcome.to_dict()
        return types.CallToolResult(
            content=[types.TextContent(text=json.dumps(data, sort_keys=True))],
            structured_content=data,
            is_error=outcome.is_error,
        )

    return Server(
        "scitex-container",
        version=__version__,
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


async def serve() -> None:
    """Serve one client over this process's stdin/stdout until it closes."""
    from mcp.server.stdio import stdio_server

    server = build_server()
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


def main() -> None:
    """Console-script entry point of ``scitex-container-mcp`` (stdio transport)."""
    import anyio

    from scitex_container.process import runner

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)  # never the protocol's stdout
    runner.install_signal_handlers()
    try:
        anyio.run(serve)
    except KeyboardInterrupt:
        runner.stop_children(2)
