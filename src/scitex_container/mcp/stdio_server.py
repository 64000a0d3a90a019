"""``scitex-container-mcp``: the MCP server over stdio (the ``mcp`` SDK's low-level server).

Tools are listed from :mod:`.tool_catalog` and called through
:mod:`.tool_call`.  A tool's answer is its command's JSON: the result as
``structured_content`` (and as text), or the command's error object with
``is_error`` set (a check that failed, a policy refusal with its verdict).
Bad input (an unknown tool, a malformed or unknown argument, a path outside
the server's roots, or anything the command itself refuses as bad usage) is
a JSON-RPC ``invalid params`` error naming the field, and nothing runs.
The server writes only protocol messages on stdout.

Start-up imports only the SDK and the static tool table: the tool calls
(and with them our CLI and click) are imported on the first call.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from scitex_container import envvars
from scitex_container._version import __version__
from scitex_container.errors import BadInputError
from scitex_container.mcp import tool_catalog

if TYPE_CHECKING:
    from scitex_container.mcp.tool_call import CallOutcome

ROOTS_HELP = (
    "Roots: a client may name paths only under the server's roots. They are the --root "
    f"directories, else ${envvars.MCP_ROOTS} (os.pathsep-separated), else the working "
    "directory. The server refuses to start when a root is `/` unless it was given "
    "explicitly (--root / or the variable): started from `/` by a client, it would "
    "confine nothing. Each root must be an existing directory."
)

INSTRUCTIONS = (
    "scitex-container: build, version, verify and run Apptainer images and Compose stacks. "
    "Every tool returns the JSON of the matching `scitex-container --json` command; "
    "tools that change something accept dry_run; the site policy applies as in the CLI."
)


def tool_list() -> list[dict[str, Any]]:
    """Every tool as ``{name, description, input_schema}`` (also for ``mcp list-tools``).

    The seed server's names of our tools (``container_verify``...) are listed
    too, each as an alias, so a client that checks a tool is listed before
    calling it finds them.
    """
    tools = [
        {"name": t.name, "description": t.description, "input_schema": t.input_schema()}
        for t in tool_catalog.TOOLS
    ]
    aliases = [
        {
            "name": seed,
            "description": f"Alias of `{t.name}` (the seed server's name). {t.description}",
            "input_schema": t.input_schema(),
        }
        for t in tool_catalog.TOOLS
        for seed in t.seed_names
    ]
    return tools + aliases


def _invalid(message: str, field: str | None, data: Any = None) -> Exception:
    import mcp_types as types
    from mcp.shared.exceptions import MCPError

    detail = {"field": field, **(data or {})} if field else (data or {})
    text = f"{field}: {message}" if field else message
    return MCPError(code=types.INVALID_PARAMS, message=text, data=detail or None)


def prepare(name: str, arguments: Any) -> tuple[bool, list[str]]:
    """``(runs apart, argv)`` of a call; bad input raises the JSON-RPC error, nothing runs."""
    from scitex_container.mcp import tool_call

    spec = tool_catalog.find(name)
    if spec is None:
        raise _invalid(f"unknown tool `{name}`", "name")
    if arguments is not None and not isinstance(arguments, dict):
        raise _invalid("must be an object of the tool's fields", "arguments")
    try:
        argv = tool_call.build_argv(spec, arguments)
    except BadInputError as exc:
        raise _invalid(exc.detail, exc.where) from None
    return tool_call.runs_apart(spec, argv), argv


def checked(outcome: CallOutcome, name: str = "", arguments: Any = None) -> CallOutcome:
    """``outcome``, or the JSON-RPC error when the command refused its input as bad usage.

    The command's location of the error (``where``) becomes the tool's field
    (:mod:`.error_fields`), in ``data.field`` and at the head of the message.
    """
    if outcome.bad_input:
        from scitex_container.mcp.error_fields import tool_field

        payload = dict(outcome.payload) if isinstance(outcome.payload, dict) else {}
        message = str(payload.get("error", "bad input"))
        where = payload.get("where")
        spec = tool_catalog.find(name)
        field = None
        if spec is not None and isinstance(where, str):
            field = tool_field(spec, where, arguments if isinstance(arguments, dict) else {})
        if field is not None and isinstance(where, str) and message.startswith(f"{where}: "):
            message = message[len(where) + 2 :]
        raise _invalid(message, field, payload)
    return outcome


def call(name: str, arguments: dict[str, Any] | None) -> CallOutcome:
    """Run tool ``name`` to completion (in this thread); see :func:`prepare`."""
    from scitex_container.mcp import tool_call

    apart, argv = prepare(name, arguments)
    outcome = (tool_call.run_cli_apart if apart else tool_call.run_cli)(argv)
    return checked(outcome, name, arguments)


def build_server() -> Any:
    """The low-level MCP server with our two handlers."""
    import mcp_types as types
    from mcp.server.lowlevel import Server

    async def list_tools(_ctx: Any, _params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=[types.Tool(**t) for t in tool_list()])

    async def call_tool(_ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        from scitex_container.mcp import tool_call
        from scitex_container.mcp.apart import run_apart

        apart, argv = prepare(params.name, params.arguments)
        if apart:  # a long step: other calls are answered while it runs; a cancel stops it
            outcome = await run_apart(argv)
        else:
            outcome = tool_call.run_cli(argv)
        outcome = checked(outcome, params.name, params.arguments)
        data = outcome.to_dict()
        return types.CallToolResult(
            content=[types.TextContent(text=json.dumps(data, sort_keys=True))],
            structured_content=data,
            is_error=outcome.is_error,
        )

    server = Server(
        "scitex-container",
        version=__version__,
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )
    server.middleware.append(_shape_check)
    return server


async def _shape_check(ctx: Any, call_next: Any) -> Any:
    """A ``tools/call`` whose ``arguments`` is not an object: an error naming the field.

    The SDK would refuse it too, with empty ``data``; this runs first.
    """
    params = getattr(ctx, "params", None)
    if getattr(ctx, "method", None) == "tools/call" and isinstance(params, dict):
        if params.get("arguments") is not None and not isinstance(params["arguments"], dict):
            raise _invalid("must be an object of the tool's fields", "arguments")
        if not isinstance(params.get("name"), str):
            raise _invalid("must be the tool's name (a string)", "name")
    return await call_next(ctx)


async def serve() -> None:
    """Serve one client over this process's stdin/stdout until it closes."""
    from mcp.server.stdio import stdio_server

    server = build_server()
    async with stdio_server() as (read_stream, write_stream):
        await server.run(read_stream, write_stream, server.create_initialization_options())


def choose_roots(given: list[str] | None) -> list[str]:
    """The server's roots (real paths), or :class:`BadInputError` (see :data:`ROOTS_HELP`)."""
    explicit = bool(given) or bool(os.environ.get(envvars.MCP_ROOTS))
    listed = given or [p for p in os.environ.get(envvars.MCP_ROOTS, "").split(os.pathsep) if p]
    field = "--root" if given else envvars.MCP_ROOTS
    if not listed:
        listed, field = [os.getcwd()], "working directory"
    out = []
    for raw in listed:
        real = os.path.realpath(raw)
        if not os.path.isdir(real):
            raise BadInputError(f"root `{raw}` is not a directory", field)
        if real == "/" and not explicit:
            raise BadInputError(
                "the server would confine nothing (root `/`): start it in a project "
                "directory or give --root (--root / only if you mean it)",
                field,
            )
        out.append(real)
    return out


def main(argv: list[str] | None = None, exit_now: Callable[[int], object] | None = None) -> None:
    """The server's entry (``scitex-container-mcp``, ``mcp start``: stdio transport).

    ``exit_now`` (the CLI's ``os._exit``) ends the process on SIGINT/TERM/HUP
    once every running call's child was stopped; without it a signal takes
    the CLI's interrupt path, which waits for the calls' threads.
    """
    import argparse

    parser = argparse.ArgumentParser(
        prog="scitex-container-mcp",
        description="The scitex-container MCP server on stdin/stdout.",
        epilog=ROOTS_HELP,
    )
    parser.add_argument(
        "--root",
        action="append",
        metavar="DIR",
        help="A directory clients may name paths under (repeatable).",
    )
    parser.add_argument(
        "--allow-host-def",
        action="store_true",
        help="Let builds take a def with %%setup (host-side code) or with %%files sources "
        "outside the roots (refused by default).",
    )
    args = parser.parse_args(argv)
    if args.allow_host_def:  # only the flag opts in, never an inherited variable
        os.environ[envvars.MCP_ALLOW_HOST_DEF] = "1"
    else:
        os.environ.pop(envvars.MCP_ALLOW_HOST_DEF, None)
    try:
        os.environ[envvars.MCP_ROOTS] = os.pathsep.join(choose_roots(args.root))
    except BadInputError as exc:
        parser.error(str(exc))  # exit 2, before the protocol starts

    import anyio

    from scitex_container.files import temporaries
    from scitex_container.process import runner

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)  # never the protocol's stdout
    # SIGINT/TERM/HUP: every running call's child stopped (it cleans up), then exit
    if exit_now is not None:
        runner.end_on_signals(temporaries.sweep, exit_now)
    else:
        runner.install_signal_handlers()
    anyio.run(serve)
    # stdin closed: calls still running were cancelled (their children stopped)
    runner.stop_children()
    temporaries.sweep()
