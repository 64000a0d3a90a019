"""The seed server's tool names and arguments, through the SDK's real client over stdio."""

from __future__ import annotations

import os

import mcp_types as types
import pytest
from mcp_client import rpc_error, server_env, with_session
from storekit import make_sif


@pytest.fixture()
def containers(tmp_path, busybox_sif):
    """``./containers/`` as the seed found it: a .def and a store, version 1.0 active."""
    store = tmp_path / "containers"
    store.mkdir()
    (store / "scitex-final.def").write_text("Bootstrap: scratch\n")
    for i, ver in enumerate(["1.0", "2.0"]):
        make_sif(store / f"scitex-v{ver}.sif", busybox_sif, seed=i)
    os.symlink("scitex-v1.0.sif", store / "current.sif")
    return store


@pytest.mark.apptainer
def test_seed_tool_names_arguments_and_empty_string_defaults(tmp_path, containers):
    compose = tmp_path / "stack"
    compose.mkdir()
    (compose / "docker-compose.yml").write_text("services:\n  a:\n    image: busybox\n")
    before = sorted(os.listdir(containers))

    async def body(session):
        listed = {t.name: t.input_schema["properties"] for t in (await session.list_tools()).tools}
        calls = {
            "verify {}": await session.call_tool("verify", {}),
            'verify ""': await session.call_tool("verify", {"sif_path": "", "def_path": ""}),
            "cleanup": await session.call_tool(
                "container_cleanup", {"keep": 1, "containers_dir": "", "dry_run": True}
            ),
            "deploy": await session.call_tool(
                "container_deploy", {"target_dir": str(tmp_path / "opt"), "dry_run": True}
            ),
            "restart": await session.call_tool(
                "docker_restart", {"project_dir": str(compose), "dry_run": True}
            ),
            "host_check": await session.call_tool("host_check", {}),
            "host_install {}": await session.call_tool("host_install", {"dry_run": True}),
            "host_install texlive": await session.call_tool(
                "host_install", {"texlive": True, "dry_run": True}
            ),
            "switch sudo": await session.call_tool(
                "switch", {"version": "2.0", "use_sudo": True, "dry_run": True}
            ),
        }
        # the default deploy target (/opt/scitex/singularity) is outside the roots
        deploy_default = await rpc_error(session, "container_deploy", {"dry_run": True})
        return listed, calls, deploy_default

    listed, calls, deploy_default = with_session(server_env(tmp_path), tmp_path, body)
    assert {"container_deploy", "container_cleanup", "docker_restart", "host_check"} <= set(listed)
    assert "use_sudo" in listed["switch"] and "use_sudo" in listed["rollback"]
    assert "base" in listed["build"] and "use_sudo" in listed["build"]
    for name in ("verify {}", 'verify ""'):  # the active SIF of ./containers, not the newest
        verified = calls[name].structured_content
        assert verified["result"]["sif"]["path"] == str(containers / "scitex-v1.0.sif"), verified
    for name in ("cleanup", "deploy", "restart", "host_check", "host_install {}"):
        assert "result" in calls[name].structured_content, (name, calls[name].structured_content)
    restart = calls["restart"].structured_content["result"]["dry_run_commands"]
    assert [c.split()[-1] for c in restart] == ["down", "-d"]
    groups = calls["host_check"].structured_content["result"]
    assert set(groups) >= {"texlive", "imagemagick"}
    everything = calls["host_install {}"].structured_content["result"]["result"]
    assert everything["imagemagick"]["status"] != "skipped"  # {} means every group
    only = calls["host_install texlive"].structured_content["result"]["result"]
    assert only["imagemagick"]["status"] == "skipped"
    switched = calls["switch sudo"].structured_content  # root: the link needs no sudo
    assert switched["exit_code"] == 1 and switched["result"]["result"]["version"] == "2.0"
    assert deploy_default.code == types.INVALID_PARAMS
    assert (
        deploy_default.data["field"] == "target_dir" and "(the default)" in deploy_default.message
    )
    assert sorted(os.listdir(containers)) == before  # dry runs: nothing removed or linked
    assert not (tmp_path / "opt").exists()


def test_seed_conventions_listed_aliases_skills_and_sandbox_force(tmp_path):
    existing = tmp_path / "sb"
    existing.mkdir()
    (existing / "mine").write_text("kept\n")
    source = tmp_path / "x.def"
    source.write_text("Bootstrap: scratch\n")

    async def body(session):
        listed = {t.name: t for t in (await session.list_tools()).tools}
        pages = await session.call_tool("container_skills_list", {})
        name = pages.structured_content["result"][0]["name"]
        return {
            "listed": listed,
            "pages": pages,
            "page": await session.call_tool("container_skills_get", {"name": name}),
            "force new": await session.call_tool(
                "sandbox_create",
                {
                    "source": str(source),
                    "output_dir": str(tmp_path / "new"),
                    "force": True,
                    "dry_run": True,
                },
            ),
            "force existing": await rpc_error(
                session,
                "sandbox_create",
                {"source": str(source), "output_dir": str(existing), "force": True},
            ),
        }

    out = with_session(server_env(tmp_path), tmp_path, body)
    listed = out["listed"]
    for alias, ours in (("container_verify", "verify"), ("container_build", "build")):
        assert alias in listed and f"Alias of `{ours}`" in listed[alias].description
        assert listed[alias].input_schema == listed[ours].input_schema
    assert {"container_skills_list", "container_skills_get"} <= set(listed)
    assert "force" in listed["sandbox_create"].input_schema["properties"]
    assert not out["pages"].is_error and out["pages"].structured_content["result"]
    page = out["page"].structured_content["result"]
    assert page["content"].strip() and not out["page"].is_error
    assert out["force new"].structured_content["exit_code"] in (0, 1)  # a dry run
    assert not (tmp_path / "new").exists()
    assert "already exists" in out["force existing"].message
    assert (existing / "mine").read_text() == "kept\n"  # never overwritten
