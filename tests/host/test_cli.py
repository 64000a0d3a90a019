"""`scitex-container host ...` and `snapshot` through the real console entry point."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from clirun import cli as run_cli

from scitex_container.host.snapshot import snapshot_schema


def test_host_check_json_and_exit_code(host_packages: dict) -> None:
    out = run_cli("--json", "host", "check")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["texlive"]["installed"] and data["imagemagick"]["installed"]


def test_host_check_exits_1_when_a_group_is_missing(tmp_path: Path) -> None:
    out = run_cli("host", "check", extra={"PATH": str(tmp_path)})
    assert out.returncode == 1
    assert out.stdout.splitlines()[0].split("\t")[:2] == ["group", "installed"]


def test_host_install_needs_a_group() -> None:
    out = run_cli("host", "install")
    assert out.returncode == 2
    assert "choose --texlive, --imagemagick or --all" in out.stderr


def test_host_install_check_mode(host_packages: dict) -> None:
    out = run_cli("host", "install", "--check", "--all", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["texlive"]["status"] == data["imagemagick"]["status"] == "installed"
    assert data["texlive"]["state"] == data["imagemagick"]["state"] == "present"
    assert data["script"].endswith("install-host-packages.sh")


def test_host_mounts_rejects_a_bad_entry_naming_it() -> None:
    out = run_cli(
        "host", "mounts", "--texlive-prefix", "/nonexistent", "--host-mounts", "/tmp:/x,/nope:/y"
    )
    assert out.returncode == 2
    assert "host_mounts_raw[1]" in out.stderr and "'/nope:/y'" in out.stderr


def test_snapshot_to_stdout_and_to_a_file(tmp_path: Path) -> None:
    out = run_cli("snapshot", "--containers-dir", str(tmp_path))
    assert out.returncode == 0, out.stderr
    jsonschema.validate(json.loads(out.stdout), snapshot_schema())
    target = tmp_path / "snap.json"
    written = run_cli(
        "snapshot",
        "--containers-dir",
        str(tmp_path),
        "-o",
        str(target),
        "--dev-repo",
        str(tmp_path),
    )
    assert written.returncode == 0 and written.stdout == ""
    data = json.loads(target.read_text())
    jsonschema.validate(data, snapshot_schema())
    assert data["dev_repos"][0]["path"] == str(tmp_path)
    dry = run_cli("--dry-run", "snapshot", "-o", str(tmp_path / "no.json"))
    assert dry.returncode == 1 and not (tmp_path / "no.json").exists()  # a write is pending
    assert dry.stdout.startswith("would write") and str(tmp_path / "no.json") in dry.stdout
