"""Sessions through MCP: what a call starts keeps running, and the roots bound what is seen."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from mcp_client import rpc_error, server_env, with_session
from storekit import make_sif

pytestmark = pytest.mark.apptainer


def _instances() -> set[str]:
    """This user's instances, as ``apptainer instance list`` shows them."""
    done = subprocess.run(
        ["apptainer", "instance", "list", "--json"], capture_output=True, text=True, check=True
    )
    return {i["instance"] for i in json.loads(done.stdout).get("instances", [])}


def _stop_all(state: Path) -> None:
    for path in state.glob("*/session.json"):
        name = json.loads(path.read_text()).get("instance")
        if name and name in _instances():
            subprocess.run(["apptainer", "instance", "stop", name], capture_output=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="the PID-namespace containment is root's")
def test_a_local_session_started_through_mcp_outlives_the_call_and_roots_bound_it(
    tmp_path, busybox_sif, sx, monkeypatch
):
    root, outside = tmp_path / "root", tmp_path / "outside"
    state = tmp_path / "state"
    for d in (root / "proj", root / "home", outside / "proj", state):
        d.mkdir(parents=True)
    image = root / "bb.sif"
    make_sif(image, busybox_sif)
    env = server_env(root, SCITEX_CONTAINER_SESSIONS_DIR=str(state))
    monkeypatch.setenv("SCITEX_CONTAINER_SESSIONS_DIR", str(state))
    # a session of the same user whose project is outside the server's roots
    other = sx("--json", "session", "start", "--local", image, "-p", outside / "proj")
    assert other.code == 0, other.err
    other_id = other.json()["id"]
    request = {
        "image": str(image),
        "project": str(root / "proj"),
        "home": str(root / "home"),
        "local": True,
    }

    async def started(session):
        return (await session.call_tool("session_start", request)).structured_content

    async def listed_and_stopped(session, mine):
        listed = (await session.call_tool("session_list", {})).structured_content
        refused = await rpc_error(session, "session_stop", {"session_id": other_id})
        stopped = await session.call_tool("session_stop", {"session_id": mine})
        return listed, refused, stopped

    try:
        rec = with_session(env, root, started)["result"]
        assert rec["state"] == "running", rec
        # the call is over (and the server gone): the instance is still there
        assert rec["instance"] in _instances()

        async def second(session):
            return await listed_and_stopped(session, rec["id"])

        listed, refused, stopped = with_session(env, root, second)
        assert [r["id"] for r in listed["result"]] == [rec["id"]]  # not the outside one
        assert refused.data["field"] == "session_id" and "outside" in refused.message
        assert not stopped.is_error, stopped.structured_content
        assert rec["instance"] not in _instances()
        assert other.json()["instance"] in _instances()  # refused: left alone
    finally:
        _stop_all(state)
