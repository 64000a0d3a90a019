"""`scitex-container mcp doctor`: is the MCP server usable here?  Exit 1 naming what is not."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.options import common_options
from scitex_container.cli.output import emit

#: The seed's ten tools: the server must offer at least these.
SEED_TOOLS = (
    "status",
    "build",
    "list",
    "switch",
    "rollback",
    "sandbox_create",
    "docker_rebuild",
    "host_install",
    "env_snapshot",
    "verify",
)


def _checks() -> list[dict]:
    import importlib.metadata
    import shutil

    checks: list[dict] = []

    def add(name: str, ok: bool, detail: str) -> None:
        checks.append({"name": name, "status": "pass" if ok else "fail", "detail": detail})

    try:
        version = importlib.metadata.version("mcp")
        import mcp.server.lowlevel  # noqa: F401

        add("sdk", True, f"mcp {version}")
    except Exception as exc:  # any import failure is the finding itself
        add("sdk", False, f"the MCP SDK does not import: {exc} (pip install 'mcp>=2.3')")
    try:
        from scitex_container.mcp.stdio_server import build_server, tool_list

        build_server()
        names = {t["name"] for t in tool_list()}
        missing = [n for n in SEED_TOOLS if n not in names]
        add("server", True, "scitex_container.mcp.stdio_server")
        add(
            "tools",
            not missing,
            f"{len(names)} tools" + (f"; missing {', '.join(missing)}" if missing else ""),
        )
    except Exception as exc:
        add("server", False, f"the server does not load: {exc}")
    import os
    import sys

    beside = os.path.join(os.path.dirname(sys.executable), "scitex-container-mcp")
    entry = shutil.which("scitex-container-mcp") or (beside if os.path.exists(beside) else None)
    add("entry_point", entry is not None, entry or "scitex-container-mcp is not on PATH")
    return checks


@click.command("doctor")
@click.option("-v", "--verbose", is_flag=True, help="Also list the tools (the seed's option).")
@common_options
def doctor(verbose: bool) -> int:
    """Check the MCP SDK, the server module, its tools and the entry point."""
    checks = _checks()
    if verbose:
        from scitex_container.mcp.stdio_server import tool_list

        names = ", ".join(t["name"] for t in tool_list())
        checks.append({"name": "tool_names", "status": "pass", "detail": names})
    ok = all(c["status"] == "pass" for c in checks)
    text = "\n".join(f"{c['name']:<12} {c['status']:<5} {c['detail']}" for c in checks)
    emit({"ok": ok, "checks": checks}, get_options(), text=text)
    return 0 if ok else 1
