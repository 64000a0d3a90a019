"""The CLI layer: exit codes, --json, lazy loading, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from clirun import cli as run_cli

from scitex_container.cli.main import cli
from scitex_container.cli.registry import COMMANDS


def test_version_and_help() -> None:
    from scitex_container import __version__

    out = run_cli("--version")
    assert out.returncode == 0 and __version__ in out.stdout
    helped = run_cli("--help")
    assert helped.returncode == 0 and "build" in helped.stdout and "info" in helped.stdout


def test_unknown_command_is_usage_error_exit_2() -> None:
    out = run_cli("no-such-command")
    assert out.returncode == 2
    assert "No such command" in out.stderr


def test_missing_tool_exits_3_with_one_line(tmp_path: Path) -> None:
    out = run_cli("info", extra={"SCITEX_CONTAINER_CMD": "scitex-not-installed"})
    assert out.returncode == 3
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: `scitex-not-installed`")
    assert "Traceback" not in out.stderr


def test_bad_def_exits_2_naming_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.def"
    bad.write_text("Bootstrap: scratch\n\n%nosuchsection\n    true\n")
    out = run_cli("build", str(bad), "-o", str(tmp_path / "out"))
    assert out.returncode == 2, out.stderr
    assert f"{bad}:3" in out.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.sif"))


def test_debug_variable_shows_traceback() -> None:
    out = run_cli(
        "info", env={"SCITEX_CONTAINER_CMD": "scitex-not-installed", "SCITEX_CONTAINER_DEBUG": "1"}
    )
    assert out.returncode != 0 and "Traceback" in out.stderr


@pytest.mark.apptainer
def test_json_flag_before_or_after_command() -> None:
    for args in (("--json", "info"), ("info", "--json")):
        out = run_cli(*args)
        assert out.returncode == 0, out.stderr
        data = json.loads(out.stdout)
        assert data["command"] in ("apptainer", "singularity")
        assert data["version"][0].isdigit()


def test_every_registered_command_module_exists_or_is_absent_cleanly() -> None:
    from click.testing import CliRunner

    names = cli.list_commands(None)  # type: ignore[arg-type]
    assert set(names) <= set(COMMANDS)
    for name in names:
        result = CliRunner().invoke(cli, [name, "--help"])
        assert result.exit_code == 0, (name, result.output)


def test_help_does_not_import_rich_or_library_modules() -> None:
    code = (
        "import sys\n"
        "from scitex_container.cli.main import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('rich', 'yaml', 'jsonschema', 'cyclonedx')"
        " or m.startswith('scitex_container.apptainer.')]\n"
        "print('HEAVY=' + ','.join(sorted(heavy)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "HEAVY="


@pytest.mark.parametrize("columns", ["50", "80", "132"])
def test_fast_help_equals_click_help(columns: str) -> None:
    env = {**os.environ, "COLUMNS": columns}
    fast = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.argv=['x','--help']; "
            "from scitex_container.cli.entry import main; main()",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    full = subprocess.run(
        [sys.executable, "-c", "from scitex_container.cli.main import main; main(['--help'])"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert fast.returncode == full.returncode == 0
    assert fast.stdout == full.stdout


def test_fast_version_equals_click_version() -> None:
    fast = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.argv=['x','--version']; "
            "from scitex_container.cli.entry import main; main()",
        ],
        capture_output=True,
        text=True,
    )
    full = subprocess.run(
        [sys.executable, "-c", "from scitex_container.cli.main import main; main(['--version'])"],
        capture_output=True,
        text=True,
    )
    assert fast.stdout == full.stdout and fast.stdout.strip()


def test_a_group_alone_prints_its_help_readably_and_exits_2() -> None:
    """Was the whole help squashed into one ~600-character `error:` line."""
    for group in ("session", "lock"):
        out = subprocess.run(
            [sys.executable, "-m", "scitex_container", group],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 2
        assert out.stderr.startswith(f"Usage: scitex-container {group} ")
        assert "\nCommands:\n" in out.stderr and "error:" not in out.stderr
        as_json = subprocess.run(
            [sys.executable, "-m", "scitex_container", "--json", group],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert as_json.returncode == 2
        assert json.loads(as_json.stdout)["error"].startswith("missing a command: one of ")
