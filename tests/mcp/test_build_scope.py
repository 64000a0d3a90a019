"""A def an MCP client builds cannot reach the host outside the roots (``%setup``, ``%files``)."""

from __future__ import annotations

from mcp_client import rpc_error, server_env, with_session

SETUP_DEF = """\
Bootstrap: localimage
From: {base}

%setup
    echo pwned > {outside}/written
"""

FILES_DEF = """\
Bootstrap: localimage
From: {base}

%files
    "{outside}/secret" /secret
    inside.txt /inside.txt
"""


def test_setup_and_files_from_outside_the_roots_are_refused_unless_opted_in(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    secret = outside / "secret"
    secret.write_text("private\n")
    secret.chmod(0o600)
    (root / "inside.txt").write_text("ok\n")
    base = root / "base.sif"
    base.write_bytes(b"not used: nothing is built")
    setup_def, files_def = root / "setup.def", root / "files.def"
    setup_def.write_text(SETUP_DEF.format(base=base, outside=outside))
    files_def.write_text(FILES_DEF.format(base=base, outside=outside))
    out_dir = str(root / "images")

    async def body(session):
        return {
            "setup": await rpc_error(
                session, "build", {"definition": str(setup_def), "output_dir": out_dir}
            ),
            "files": await rpc_error(
                session, "build", {"definition": str(files_def), "output_dir": out_dir}
            ),
            "repro": await rpc_error(session, "repro", {"definition": str(files_def)}),
        }

    refused = with_session(server_env(root), root, body)
    assert refused["setup"].data["field"] == "definition"
    assert f"{setup_def}:4: %setup" in refused["setup"].message
    for name in ("files", "repro"):
        assert refused[name].data["field"] == "definition", name
        assert f"{files_def}:5: %files source `{secret}`" in refused[name].message
    assert not (outside / "written").exists() and not (root / "images").exists()

    async def opted_in(session):
        return [
            await session.call_tool(
                "build", {"definition": str(d), "output_dir": out_dir, "dry_run": True}
            )
            for d in (setup_def, files_def)
        ]

    for result in with_session(server_env(root), root, opted_in, args=("--allow-host-def",)):
        assert "dry_run_commands" in result.structured_content["result"], result
