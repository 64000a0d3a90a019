"""The seed's sequence on a store our own `build` made: the CLI finds the store MCP finds."""

from __future__ import annotations

import pytest
from images import BUSYBOX_DEF
from mcp_client import server_env, with_session


@pytest.mark.apptainer
def test_verify_deploy_and_show_status_find_what_build_made(sx, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    containers = tmp_path / "containers"
    containers.mkdir()
    (containers / "scitex-final.def").write_text(BUSYBOX_DEF)
    built = sx("--json", "build", "scitex-final")
    assert built.code == 0, built.err
    active = containers / "scitex-final" / "scitex-final.sif"

    verified = sx("--json", "verify")  # the seed's form: no image, the active one
    assert "does not exist" not in verified.out + verified.err
    assert verified.json()["sif"]["path"] == str(active.resolve())  # the version, as the seed's

    target = tmp_path / "deployed"
    planned = sx("--json", "--dry-run", "deploy", "-t", target)
    assert planned.code in (0, 1), planned.err  # 1: a dry run that would change something
    assert "no active version" not in planned.out + planned.err
    assert not target.exists()

    status = sx("--json", "show-status")
    app = status.json()["apptainer"]
    assert len(app["versions"]) == 1 and app["active"], app

    async def body(session):
        return (await session.call_tool("verify", {})).structured_content

    mcp = with_session(server_env(tmp_path), tmp_path, body)
    assert mcp["result"]["sif"]["path"] == verified.json()["sif"]["path"]  # the one rule
