"""A long tool call (a build) does not hold up the others, through the SDK's real client."""

from __future__ import annotations

import anyio
import pytest
from mcp_client import server_env, waiting_build, with_session
from storekit import make_sif


@pytest.mark.apptainer
def test_a_versions_call_answers_while_a_build_is_running(tmp_path, busybox_sif):
    gate, definition = waiting_build(tmp_path, busybox_sif)
    store = tmp_path / "store"
    store.mkdir()
    make_sif(store / "scitex-v1.0.sif")
    build_args = {"definition": str(definition), "output_dir": str(tmp_path / "images")}

    async def body(session):
        out = {}

        async def build():
            out["build"] = await session.call_tool("build", build_args)

        async with anyio.create_task_group() as tg:
            tg.start_soon(build)
            with anyio.fail_after(120):
                while not (gate / "started").exists():  # the build is inside %post
                    await anyio.sleep(0.05)
            out["versions"] = await session.call_tool("versions", {"store": str(store)})
            out["released"] = (gate / "release").exists()  # False: the build cannot have ended
            out["build_done_before_release"] = "build" in out
            (gate / "release").write_text("go\n")
        return out

    out = with_session(server_env(tmp_path), tmp_path, body)
    assert not out["released"] and not out["build_done_before_release"]
    versions = out["versions"].structured_content
    assert not out["versions"].is_error and versions["result"][0]["version"] == "1.0", versions
    built = out["build"].structured_content
    assert not out["build"].is_error and built["result"]["built"] is True, built
