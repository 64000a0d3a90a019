"""A real MCP client session (the SDK's client over stdio) against ``scitex-container-mcp``."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio

SERVER = str(Path(sys.executable).with_name("scitex-container-mcp"))


def server_env(roots: Path, **extra: str) -> dict[str, str]:
    """The server's environment: the test's HOME/cache/PATH, the roots, and ``extra``."""
    env = {k: os.environ[k] for k in ("HOME", "XDG_CACHE_HOME", "PATH") if k in os.environ}
    env["SCITEX_CONTAINER_MCP_ROOTS"] = str(roots)
    env.update(extra)
    return env


def with_session(
    env: dict[str, str],
    cwd: Path,
    body: Callable[[Any], Awaitable[Any]],
    args: tuple[str, ...] = (),
) -> Any:
    """Start the server (with ``args``), initialize a client session, run ``body(session)``."""
    import tempfile

    from mcp.client.stdio import StdioServerParameters, stdio_client

    from mcp import ClientSession

    async def main(errlog: Any) -> Any:
        params = StdioServerParameters(command=SERVER, args=list(args), env=env, cwd=str(cwd))
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            return await body(session)

    # the server's stderr goes to a real file (pytest's captured stderr has no fileno)
    with tempfile.TemporaryFile(mode="w+") as errlog:
        return anyio.run(main, errlog)


async def rpc_error(session: Any, name: str, arguments: dict[str, Any]) -> Any:
    """The JSON-RPC error a call raises (fails when it returns a result instead)."""
    from mcp.shared.exceptions import MCPError

    try:
        result = await session.call_tool(name, arguments)
    except MCPError as exc:
        return exc.error
    raise AssertionError(f"{name}({arguments}) returned {result.structured_content}")


#: The opening of a raw JSON-RPC session (no SDK): initialize, then initialized.
RAW_INIT: list[dict] = [
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": {"name": "raw", "version": "1"},
        },
    },
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
]

#: A def whose %post waits for ``{gate}/release`` (apptainer binds the host's /tmp there).
WAITING_DEF = """\
Bootstrap: localimage
From: {base}

%post
    echo started > {gate}/started
    i=0
    while [ ! -e {gate}/release ] && [ "$i" -lt 1200 ]; do sleep 0.1; i=$((i + 1)); done
    [ -e {gate}/release ]
"""


def raw_server(roots: Path, **popen: Any) -> subprocess.Popen:
    """The server on pipes (text), run in ``roots`` with ``server_env(roots)``; no client."""
    return subprocess.Popen(
        [SERVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=server_env(roots),
        cwd=roots,
        **popen,
    )


def waiting_build(tmp_path: Path, busybox_sif: Path) -> tuple[Path, Path]:
    """(gate, def): a def whose %post waits in ``gate`` (see WAITING_DEF) on a local base."""
    from storekit import make_sif

    gate = tmp_path / "gate"  # under /tmp, which apptainer binds into %post
    gate.mkdir()
    definition = tmp_path / "wait.def"
    base = tmp_path / "base.sif"  # inside the server's root: a localimage outside is refused
    make_sif(base, busybox_sif)
    definition.write_text(WAITING_DEF.format(base=base, gate=gate))
    return gate, definition
