"""The MCP server against the same CLI command run in-process.

* ``versions`` and ``verify`` as MCP tool calls over one stdio session
  (the SDK's client) vs ``scitex-container --json versions|verify`` run
  in-process (``cli.main.main``, output captured): target, the tool call
  costs at most 50 ms more (the ``notes`` give the difference);
* server start: spawn ``scitex-container-mcp`` and complete the
  ``initialize`` handshake: at most 1 s (the notes give the server's own CPU
  time, which a loaded machine does not inflate; the SDK's import is most of it).

The store is one busybox image built with our ``build`` (apptainer needed).
"""

from __future__ import annotations

import dataclasses
import io
import os
import sys
import tempfile
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from harness import CaseResult, compare

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "helpers"))

SERVER = str(Path(sys.executable).with_name("scitex-container-mcp"))
MAX_EXTRA_S = 0.050
MAX_START_S = 1.0


def _store(root: Path) -> Path:
    from images import BUSYBOX_DEF, busybox_sif

    from scitex_container.apptainer.building.versioned import build_version

    busybox_sif()  # the host's busybox-static, as the tests use
    definition = root / "bb.def"
    definition.write_text(BUSYBOX_DEF)
    build_version(def_path=definition, output_dir=root / "images")
    return root / "images" / "bb"


def _in_process(argv: list[str]) -> None:
    from scitex_container.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            main(argv)
        except SystemExit as exc:
            if exc.code not in (0, None):
                raise RuntimeError(f"{argv}: exit {exc.code}: {err.getvalue()}") from None


def _with_extra(case: CaseResult) -> CaseResult:
    extra = case.ours_median_s - case.raw_median_s
    return dataclasses.replace(
        case,
        target="tool call <= CLI in-process + 50 ms",
        met=extra <= MAX_EXTRA_S,
        notes={"extra_ms": round(extra * 1000, 1)},
    )


def _server_params(root: Path):
    from mcp.client.stdio import StdioServerParameters

    env = {k: os.environ[k] for k in ("HOME", "PATH", "XDG_CACHE_HOME") if k in os.environ}
    env["SCITEX_CONTAINER_MCP_ROOTS"] = str(root)
    return StdioServerParameters(command=SERVER, env=env, cwd=str(root))


def _children_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _start_once(root: Path) -> float:
    import anyio
    from mcp.client.stdio import stdio_client

    from mcp import ClientSession

    async def main() -> float:
        start = time.perf_counter()
        async with stdio_client(_server_params(root)) as (r, w), ClientSession(r, w) as session:
            await session.initialize()
            return time.perf_counter() - start

    return anyio.run(main)


def cases(runs: int) -> list[CaseResult]:
    import shutil

    from anyio.from_thread import start_blocking_portal
    from mcp.client.stdio import stdio_client

    from mcp import ClientSession

    if not shutil.which("apptainer"):
        raise FileNotFoundError("apptainer is not installed")
    root = Path(tempfile.mkdtemp(prefix="bench-mcp-"))
    try:
        store = _store(root)
        image = str(store / "bb.sif")
        results: list[CaseResult] = []
        with start_blocking_portal() as portal:
            transport = portal.wrap_async_context_manager(stdio_client(_server_params(root)))
            read, write = transport.__enter__()
            session_cm = portal.wrap_async_context_manager(ClientSession(read, write))
            session = session_cm.__enter__()
            portal.call(session.initialize)
            try:
                for tool, args, argv in (
                    ("versions", {"store": str(store)}, ["--json", "versions", str(store)]),
                    ("verify", {"image": image}, ["--json", "verify", image]),
                ):
                    case = compare(
                        f"mcp {tool} call vs CLI in-process",
                        lambda tool=tool, args=args: portal.call(session.call_tool, tool, args),
                        lambda argv=argv: _in_process(argv),
                        runs=runs,
                    )
                    results.append(_with_extra(case))
            finally:
                session_cm.__exit__(None, None, None)
                transport.__exit__(None, None, None)
        cpu_before = _children_cpu()
        samples = [_start_once(root) for _ in range(runs)]
        cpu_each = (_children_cpu() - cpu_before) / runs  # the server's CPU, whatever the load
        med = sorted(samples)[len(samples) // 2]
        results.append(
            CaseResult(
                "mcp server start + initialize",
                med,
                MAX_START_S,
                med / MAX_START_S,
                "<= 1 s",
                med <= MAX_START_S,
                runs,
                samples,
                [],
                notes={"server_cpu_s": round(cpu_each, 3)},
            )
        )
        return results
    finally:
        shutil.rmtree(root, ignore_errors=True)
