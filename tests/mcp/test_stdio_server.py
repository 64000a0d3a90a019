"""The MCP server driven by the SDK's own client over stdio: real builds, the policy, bad input."""

from __future__ import annotations

import json

import mcp_types as types
import pytest
from images import BUSYBOX_DEF
from mcp_client import rpc_error, server_env, with_session

from scitex_container.apptainer.signing.keys import new_keypair

SEED_TOOLS = {
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
}
OURS = {"versions", "lock_diff", "repro", "session_start", "session_list", "session_stop", "sign"}


def test_tools_are_listed_with_schemas_and_bad_input_is_a_named_json_rpc_error(tmp_path):
    outside = tmp_path.parent / f"{tmp_path.name}-outside"

    async def body(session):
        listed = {t.name: t for t in (await session.list_tools()).tools}
        assert set(listed) >= SEED_TOOLS | OURS
        assert listed["verify"].input_schema["additionalProperties"] is False
        assert "dry_run" in listed["switch"].input_schema["properties"]
        assert "dry_run" not in listed["verify"].input_schema["properties"]
        errors = {
            "unknown tool": await rpc_error(session, "no_such_tool", {}),
            "unknown arg": await rpc_error(session, "verify", {"image": "x", "shell": "rm"}),
            "wrong type": await rpc_error(session, "switch", {"version": 3}),
            "missing": await rpc_error(session, "lock_diff", {"a": str(tmp_path)}),
            "option-like": await rpc_error(session, "switch", {"version": "--sudo"}),
            "outside": await rpc_error(
                session, "build", {"definition": "bb", "output_dir": str(outside)}
            ),
            "seed alias twice": await rpc_error(
                session, "verify", {"image": "a.sif", "sif_path": "b.sif"}
            ),
            "cli usage": await rpc_error(session, "verify", {"image": str(tmp_path / "no.sif")}),
        }
        return errors

    errors = with_session(server_env(tmp_path), tmp_path, body)
    assert all(e.code == types.INVALID_PARAMS for e in errors.values())
    fields = {k: e.data.get("field") for k, e in errors.items()}
    assert fields["unknown tool"] == "name"
    assert fields["unknown arg"] == "shell"
    assert fields["wrong type"] == "version" and fields["option-like"] == "version"
    assert fields["missing"] == "b"
    assert (
        fields["outside"] == "output_dir" and "outside the directories" in errors["outside"].message
    )
    assert fields["seed alias twice"] == "sif_path"
    # the CLI's own usage error, with the CLI's JSON error object as data
    assert errors["cli usage"].data["exit_code"] == 2 and "no.sif" in errors["cli usage"].message
    assert not outside.exists()  # refused before anything ran


@pytest.mark.apptainer
def test_a_real_build_list_verify_and_steps_refused_by_the_site_policy(
    tmp_path, busybox_sif, monkeypatch, sx
):
    definition = tmp_path / "bb.def"
    definition.write_text(BUSYBOX_DEF)
    site = new_keypair(tmp_path / "site")
    policy = tmp_path / "policy.toml"
    policy.write_text(f'[require_signature]\nswitch = true\nkeys = ["{site.public}"]\n')
    images = tmp_path / "images"
    build = {"definition": str(definition), "output_dir": str(images)}

    async def without_policy(session):
        out = {"dry": (await session.call_tool("build", {**build, "dry_run": True}))}
        out["images_after_dry"] = images.exists()
        out["builds"] = [
            await session.call_tool("build", build),
            await session.call_tool("build", {**build, "force": True}),
        ]
        out["list"] = await session.call_tool("list", {"containers_dir": str(images / "bb")})
        out["verify"] = await session.call_tool(
            "verify", {"sif_path": str(images / "bb" / "bb.sif")}
        )
        return out

    async def with_policy(session):
        versions = await session.call_tool("versions", {"store": str(images / "bb")})
        oldest = versions.structured_content["result"][-1]["version"]
        return {
            "switch": await session.call_tool(
                "switch", {"version": oldest, "store": str(images / "bb")}
            ),
            "build": await session.call_tool("build", {**build, "force": True}),
        }

    # the busybox def copies the host's busybox in %setup: an opt-in of the operator
    host_def = ("--allow-host-def",)
    out = with_session(server_env(tmp_path), tmp_path, without_policy, args=host_def)
    dry = out["dry"].structured_content
    assert dry["exit_code"] == 1 and any(" build " in c for c in dry["result"]["dry_run_commands"])
    assert not out["images_after_dry"]
    for result in out["builds"]:
        assert not result.is_error, result.structured_content
        assert result.structured_content["result"]["built"] is True
        assert json.loads(result.content[0].text) == result.structured_content
    assert len(out["list"].structured_content["result"]) == 2
    verified = out["verify"].structured_content
    assert verified["exit_code"] in (0, 4)  # pass, or unverified: not a success for an agent
    assert out["verify"].is_error == (verified["exit_code"] != 0)

    refused = with_session(
        server_env(tmp_path, SCITEX_CONTAINER_POLICY=str(policy)), tmp_path, with_policy, host_def
    )
    for step in ("switch", "build"):  # publishing a build switches the active link too
        assert refused[step].is_error, refused[step].structured_content
        error = refused[step].structured_content
        assert error["exit_code"] == 1 and error["action"] == "switch"
        assert error["policy"] == str(policy)
        assert error["signature"]["failed_check"] == "signature:missing"
    # the CLI's verdict on the same step is the same object
    monkeypatch.setenv("SCITEX_CONTAINER_POLICY", str(policy))
    error = refused["switch"].structured_content
    cli = sx("--json", "switch", error["image"].rsplit("-v", 1)[1][: -len(".sif")], images / "bb")
    assert cli.code == 1 and cli.json() == error
    assert len(list((images / "bb").glob("bb-v*.sif"))) == 2  # the refused build left nothing


def test_what_a_command_would_pick_by_itself_is_confined_too(tmp_path):
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    containers = tmp_path / "containers"  # found from the server's working directory
    containers.mkdir()
    (containers / "a.def").write_text("Bootstrap: scratch\n")

    async def body(session):
        return {
            "store": await rpc_error(session, "switch", {"version": "1"}),
            "definition": await rpc_error(session, "build", {"definition": "a"}),
        }

    errors = with_session(server_env(allowed), tmp_path, body)
    for field, error in errors.items():
        assert error.code == types.INVALID_PARAMS and error.data["field"] == field
        assert str(containers) in error.message
    assert list(containers.iterdir()) == [containers / "a.def"]  # nothing built or linked
