"""What the server lets a client reach: its roots (never `/` by accident) and a session's binds."""

from __future__ import annotations

import subprocess

import mcp_types as types
import pytest
from mcp_client import SERVER, rpc_error, server_env, with_session
from storekit import make_sif


def _binds(command: str) -> list[str]:
    words = command.split()
    return [words[i + 1] for i, w in enumerate(words[:-1]) if w in ("--home", "--bind")]


@pytest.mark.apptainer
def test_session_start_binds_what_the_cli_binds_and_only_inside_the_roots(
    tmp_path, busybox_sif, sx
):
    image, project, home = tmp_path / "bb.sif", tmp_path / "proj", tmp_path / "home"
    make_sif(image, busybox_sif)
    project.mkdir()
    home.mkdir()
    request = {"image": str(image), "project": str(project), "local": True, "dry_run": True}

    async def body(session):
        return {
            "default home": await rpc_error(session, "session_start", request),
            "given home": await session.call_tool("session_start", {**request, "home": str(home)}),
        }

    out = with_session(server_env(tmp_path), tmp_path, body)
    refused = out["default home"]  # the caller's own home is outside the roots
    assert refused.code == types.INVALID_PARAMS and refused.data["field"] == "home"
    assert "(the default)" in refused.message
    (command,) = out["given home"].structured_content["result"]["dry_run_commands"]
    cli = sx(
        "--json", "--dry-run", "session", "start", image, "-p", project, "--home", home, "--local"
    )
    (cli_command,) = cli.json()["dry_run_commands"]
    assert _binds(command) == _binds(cli_command)  # nothing more than the CLI binds
    assert all(b.startswith(str(tmp_path) + "/") for b in _binds(command)), command


def test_the_server_refuses_to_start_with_root_slash_unless_told(tmp_path):
    env = server_env(tmp_path)
    del env["SCITEX_CONTAINER_MCP_ROOTS"]
    ran = subprocess.run([SERVER], cwd="/", env=env, input="", capture_output=True, text=True)
    assert ran.returncode == 2 and "confine nothing" in ran.stderr
    assert ran.stdout == ""  # no protocol message: the client sees the server end
    missing = subprocess.run(
        [SERVER, "--root", str(tmp_path / "no")], env=env, input="", capture_output=True, text=True
    )
    assert missing.returncode == 2 and "not a directory" in missing.stderr
    for empty in ("", " "):  # realpath('') is the working directory: not a root
        ran = subprocess.run(
            [SERVER, "--root", empty], env=env, input="", capture_output=True, text=True
        )
        assert ran.returncode == 2 and "empty root" in ran.stderr, ran.stderr

    outside = str(tmp_path.parent)

    async def body(session):
        from mcp.shared.exceptions import MCPError

        try:
            return await session.call_tool("versions", {"store": outside})
        except MCPError as exc:
            return exc.error.message

    # --root / given explicitly: the server starts and `/` is its root
    answered = with_session(env, tmp_path, body, args=("--root", "/"))
    assert "outside the directories" not in str(answered)
    # started in a project directory without roots: that directory is the root

    async def confined(session):
        return await rpc_error(session, "versions", {"store": outside})

    error = with_session(env, tmp_path, confined)
    assert error.data["field"] == "store" and str(tmp_path) in error.message
