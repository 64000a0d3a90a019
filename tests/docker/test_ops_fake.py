"""Operation sequencing with a stand-in compose command (our logic, no engine needed)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from compose_stack import write_project

from scitex_container.docker import actions as ops
from scitex_container.process import runner


@pytest.fixture
def fake_compose(tmp_path: Path) -> tuple[Path, Path]:
    """A compose command that logs its arguments and fails `down` with code 7 when told to."""
    log = tmp_path / "calls.log"
    script = tmp_path / "fake-compose"
    script.write_text(f"""#!/bin/sh
if [ "$1" = version ]; then echo "Docker Compose version v2.0.0-fake"; exit 0; fi
echo "$@" >> {log}
case " $* " in *" down "*) [ -e {tmp_path}/fail-down ] && \
{{ echo "down broke" >&2; exit 7; }} ;; esac
exit 0
""")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, log


def test_restart_is_down_then_up(tmp_path: Path, fake_compose) -> None:
    script, log = fake_compose
    project = write_project(tmp_path / "proj", "proj")
    assert ops.restart(project_dir=project.dir, compose_cmd=[str(script)]) == 0
    calls = log.read_text().splitlines()
    assert calls == [f"-f {project.file} -p proj down", f"-f {project.file} -p proj up -d"]


def test_restart_returns_downs_code_and_skips_up(tmp_path: Path, fake_compose) -> None:
    script, log = fake_compose
    project = write_project(tmp_path / "proj", "proj")
    (tmp_path / "fail-down").touch()
    seen: list[str] = []
    code = ops.restart(project_dir=project.dir, compose_cmd=[str(script)], on_line=seen.append)
    assert code == 7
    assert [c.split()[-1] for c in log.read_text().splitlines()] == ["down"]
    assert "down broke" in seen


def test_dry_run_records_commands_and_runs_nothing(tmp_path: Path, fake_compose) -> None:
    script, log = fake_compose
    project = write_project(tmp_path / "proj", "proj")
    with runner.dry_run() as rec:
        assert ops.rebuild(project_dir=project.dir, compose_cmd=[str(script)]) == 0
        assert ops.restart(project_dir=project.dir, compose_cmd=[str(script)]) == 0
    assert not log.exists()
    base = [str(script), "-f", str(project.file), "-p", "proj"]
    assert rec.commands == [
        tuple([*base, "build", "--no-cache"]),
        tuple([*base, "down"]),
        tuple([*base, "up", "-d"]),
    ]


def test_status_uses_compose_ps_json_for_docker_flavor(tmp_path: Path) -> None:
    script = tmp_path / "fake-compose"
    script.write_text("""#!/bin/sh
if [ "$1" = version ]; then echo "Docker Compose version v2.30.0"; exit 0; fi
echo '{"Name":"proj-web-1","State":"running","Image":"proj-web","Service":"web"}'
echo '{"Name":"proj-db-1","State":"exited","Image":"postgres:16","Service":"db"}'
""")
    script.chmod(0o755)
    project = write_project(tmp_path / "proj", "proj")
    got = ops.status(project_dir=project.dir, compose_cmd=str(script))
    assert got["compose_file"] == str(project.file) and got["returncode"] == 0
    assert [(c["name"], c["state"]) for c in got["containers"]] == [
        ("proj-db-1", "exited"),
        ("proj-web-1", "running"),
    ]
    assert set(got) == {"compose_file", "containers", "returncode"}
