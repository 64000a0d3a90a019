"""`mcp list-tools` and `mcp doctor` as in the seed, from the server's own tool table."""

from __future__ import annotations

from scitex_container.cli.mcp.doctor import SEED_TOOLS


def test_list_tools_json_names_every_tool_with_its_schema(sx):
    ran = sx("mcp", "list-tools", "--json")
    assert ran.code == 0, ran.err
    tools = {t["name"]: t for t in ran.json()["tools"]}
    assert set(SEED_TOOLS) <= set(tools)
    assert tools["verify"]["parameters"]["properties"]["sif_path"]  # the seed's argument name
    plain = sx("mcp", "list-tools", "-vv")
    assert "switch(version: string, store: string = None" in plain.out
    assert 'build(definition: string = "scitex-final"' in plain.out  # the default, not None
    name = tools["session_start"]["parameters"]["properties"]["name"]["description"]
    assert "<name>-<8 hex digits>" in name  # what the instance becomes
    assert "site policy applies" in plain.out


def test_doctor_passes_here_and_reports_each_check(sx):
    ran = sx("--json", "mcp", "doctor")
    assert ran.code == 0, ran.out
    checks = {c["name"]: c for c in ran.json()["checks"]}
    assert set(checks) == {"sdk", "server", "tools", "entry_point"}
    assert checks["entry_point"]["detail"].endswith("scitex-container-mcp")


def test_mcp_help_recursive_shows_the_group_and_each_subcommand(sx):
    ran = sx("mcp", "--help-recursive")
    assert ran.code == 0, ran.err
    heads = [line for line in ran.out.splitlines() if line.startswith("=== ")]
    assert heads == [
        "=== scitex-container mcp ===",
        *(
            f"=== scitex-container mcp {c} ==="
            for c in ("doctor", "install", "list-tools", "start")
        ),
    ]
    assert "--root DIR" in ran.out and "confine nothing" in ran.out  # `mcp start`'s roots rule
    assert "--help-recursive" in sx("mcp", "--help").out
