"""An error the command itself raises names the tool's field, not the command's internals."""

from __future__ import annotations

import json

import pytest
from mcp_client import RAW_INIT, raw_server, rpc_error, server_env, with_session
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
        *RAW_INIT,
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "versions", "arguments": ["x"]},
        },
    ]
    proc = raw_server(tmp_path)
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


@pytest.mark.apptainer
def test_errors_about_a_resolved_def_a_key_or_the_default_store_name_the_field(
    tmp_path, busybox_sif
):
    """A def the command resolved (a name, the default, a %files line), a key that is
    the image's path, and the default store holding several images."""
    containers = tmp_path / "containers"
    containers.mkdir()
    (containers / "m.def").write_text("Bootstrap: scratch\n\n%files\n    nosuchfile /x\n")
    for name in ("a", "b"):
        (containers / name).mkdir()
        (containers / name / f"{name}-v1.sif").write_bytes(b"x")
        (containers / name / f"{name}.sif").symlink_to(f"{name}-v1.sif")
    image = tmp_path / "img.sif"
    make_sif(image, busybox_sif)

    async def body(session):
        return {
            "nosuch": await rpc_error(session, "build", {"definition": "nosuch"}),
            "default": await rpc_error(session, "container_build", {"name": ""}),
            "files": await rpc_error(session, "build", {"definition": "m", "dry_run": True}),
            "key": await rpc_error(session, "sign", {"image": str(image), "key": str(image)}),
            "store": await rpc_error(session, "switch", {"version": "x"}),
        }

    out = with_session(server_env(tmp_path), tmp_path, body)
    assert out["nosuch"].data["field"] == "definition", out["nosuch"]
    assert out["default"].data["field"] in ("name", "definition"), out["default"]
    assert out["files"].data["field"] == "definition", out["files"]
    assert f"{containers / 'm.def'}:4:" in out["files"].message  # the def's file:line kept
    assert out["key"].data["field"] == "key", out["key"]
    assert out["store"].data["field"] == "store", out["store"]
    assert str(containers) in out["store"].message  # the directory it resolved to


def test_a_slurm_option_with_local_is_refused_naming_it(tmp_path):
    project = tmp_path / "proj"
    project.mkdir()
    request = {"image": str(tmp_path / "x.sif"), "project": str(project), "local": True}

    async def body(session):
        return [
            await rpc_error(session, "session_start", {**request, field: "nosuch"})
            for field in ("partition", "node", "constraint")
        ]

    errors = with_session(server_env(tmp_path), tmp_path, body)
    assert [e.data["field"] for e in errors] == ["partition", "node", "constraint"]
    assert all("SLURM option" in e.message for e in errors)
