"""An error the command itself raises names the tool's field, not the command's internals."""

from __future__ import annotations

import json
import subprocess

import pytest
from mcp_client import SERVER, rpc_error, server_env, with_session
from storekit import make_sif


@pytest.mark.apptainer
def test_command_errors_name_the_tools_fields(tmp_path, busybox_sif):
    image, project, home = tmp_path / "bb.sif", tmp_path / "proj", tmp_path / "home"
    make_sif(image, busybox_sif)
    project.mkdir()
    home.mkdir()
    base = {"image": str(image), "project": str(project), "home": str(home), "dry_run": True}

    async def body(session):
        return {
            "partition": await rpc_error(
                session, "session_start", {**base, "partition": "no-such-partition"}
            ),
            "name": await rpc_error(
                session, "session_start", {**base, "name": "a b", "local": True}
            ),
            "project": await rpc_error(session, "session_start", {**base, "project": ""}),
            "store": await rpc_error(session, "versions", {}),
            "seed spelling": await rpc_error(session, "verify", {"sif_path": str(project)}),
        }

    out = with_session(server_env(tmp_path), tmp_path, body)
    for field in ("partition", "name", "project", "store"):
        error = out[field]
        assert error.data["field"] == field, (field, error)
        assert error.message.startswith(f"{field}: "), error.message
    assert "slurm_partition" not in out["partition"].message
    assert "instance_name" not in out["name"].message
    assert out["seed spelling"].data["field"] == "sif_path", out["seed spelling"]


def test_arguments_that_are_not_an_object_name_the_field(tmp_path):
    messages = [
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
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "versions", "arguments": ["x"]},
        },
    ]
    proc = subprocess.Popen(
        [SERVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=server_env(tmp_path),
        cwd=tmp_path,
    )
    try:
        assert proc.stdin is not None and proc.stdout is not None
        for message in messages:
            proc.stdin.write(json.dumps(message) + "\n")
        proc.stdin.flush()
        answers = [json.loads(proc.stdout.readline()) for _ in range(2)]  # id 1, then id 2
    finally:
        proc.stdin.close()  # type: ignore[union-attr]
        proc.wait(timeout=30)
    error = answers[1]["error"]
    assert answers[1]["id"] == 2
    assert error["data"]["field"] == "arguments" and error["message"].startswith("arguments: ")
