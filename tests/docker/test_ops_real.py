"""A real two-service stack on Podman + podman-compose: rebuild, up, status, logs, restart, down."""

from __future__ import annotations

import json

import pytest
from compose_stack import podman, run_cli

from scitex_container.docker import actions as ops
from scitex_container.errors import BadInputError

pytestmark = pytest.mark.compose


def names_states(status: dict) -> list[tuple[str, str]]:
    return [(c["name"], c["state"]) for c in status["containers"]]


def test_lifecycle(compose_project) -> None:
    p = compose_project
    kw = {"project_dir": p.dir, "compose_cmd": "podman-compose"}
    seen: list[str] = []

    assert ops.rebuild(on_line=seen.append, **kw) == 0
    assert p.image_exists()
    assert any("--no-cache" in line for line in seen)  # podman-compose echoes the podman build
    empty = ops.status(**kw)
    assert empty == {"compose_file": str(p.file), "containers": [], "returncode": 0}

    assert ops.up(**kw) == 0
    running = ops.status(**kw)
    web, cache = f"{p.name}_web_1", f"{p.name}_cache_1"
    assert names_states(running) == [(cache, "running"), (web, "running")]
    assert [c["image"] for c in running["containers"]] == ["localhost/busybox:test", p.image]
    assert running["containers"][1]["raw"]["Labels"]["com.docker.compose.service"] == "web"

    logs = ops.logs(**kw)
    assert logs["returncode"] == 0
    text = "\n".join(logs["lines"])
    assert "web-started" in text and f"built-{p.name}" in text and "cache-started" in text
    assert "exit code" not in text and "using podman version" not in text
    only_cache = ops.logs(services=["cache"], tail=5, **kw)["lines"]
    assert only_cache == ["cache-started"]

    podman("stop", "-t", "5", cache)
    assert dict(names_states(ops.status(**kw)))[cache] == "exited"
    old_ids = {c["name"]: c["raw"]["Id"] for c in ops.status(**kw)["containers"]}

    assert ops.restart(**kw) == 0
    after = ops.status(**kw)
    assert names_states(after) == [(cache, "running"), (web, "running")]
    assert all(c["raw"]["Id"] != old_ids[c["name"]] for c in after["containers"])  # recreated

    assert ops.down(**kw) == 0
    assert p.containers() == [] and p.networks() == []
    assert ops.down(**kw) == 0  # already down is not a failure


def test_failing_build_returns_its_code(compose_project) -> None:
    p = compose_project
    (p.dir / "bad").mkdir()
    (p.dir / "bad" / "Dockerfile").write_text("FROM localhost/busybox:test\nRUN false\n")
    (p.dir / "docker-compose.bad.yml").write_text(
        f"services:\n  bad:\n    build: ./bad\n    image: localhost/{p.name}-bad:dev\n"
    )
    seen: list[str] = []
    code = ops.rebuild("bad", p.dir, compose_cmd="podman-compose", on_line=seen.append)
    assert code != 0  # podman-compose itself exits 0 here
    assert any("RUN false" in line for line in seen)
    assert not p.image_exists(f"localhost/{p.name}-bad:dev")


def test_yaml_error_names_file_line_and_engine_message(compose_project) -> None:
    p = compose_project
    p.file.write_text("services:\n  web:\n    image: [unclosed\n    command: x\n")
    with pytest.raises(BadInputError) as info:
        ops.up(project_dir=p.dir, compose_cmd="podman-compose")
    message = str(info.value)
    assert message.startswith(f"{p.file}:4: invalid YAML")
    assert "podman-compose says: yaml.parser.ParserError" in message
    assert f'in "{p.file}", line 3' in message
    assert p.containers() == []


def test_cli_status_json_and_failed_exit(compose_project) -> None:
    p = compose_project
    env = {"SCITEX_CONTAINER_COMPOSE": "podman-compose"}
    up = run_cli("docker", "up", "--project-dir", str(p.dir), "--json", env=env)
    assert up.returncode == 0, up.stderr
    up_data = json.loads(up.stdout)
    assert up_data["returncode"] == 0 and up_data["project"] == p.name
    assert up_data["commands"][0][-2:] == ["up", "-d"]

    out = run_cli("docker", "status", "--json", env=env, cwd=p.dir / "web")  # found by walking up
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["compose_file"] == str(p.file) and data["engine"] == "podman-compose"
    assert [c["state"] for c in data["containers"]] == ["running", "running"]

    table = run_cli("docker", "status", "--project-dir", str(p.dir), env=env)
    assert table.returncode == 0 and f"{p.name}_web_1\trunning\t{p.image}" in table.stdout

    logs = run_cli("docker", "logs", "--project-dir", str(p.dir), "cache", env=env)
    assert logs.returncode == 0 and logs.stdout.strip() == "cache-started"

    (p.dir / "web" / "Dockerfile").write_text("FROM localhost/busybox:test\nRUN false\n")
    failed = run_cli("docker", "rebuild", "--project-dir", str(p.dir), env=env)
    assert failed.returncode == 1
    assert "RUN false" in failed.stderr and "failed" in failed.stdout

    down = run_cli("docker", "down", "--project-dir", str(p.dir), env=env)
    assert down.returncode == 0, down.stderr
    assert p.containers() == [] and p.networks() == []


def test_cli_dry_run_shows_commands_and_changes_nothing(compose_project) -> None:
    p = compose_project
    env = {"SCITEX_CONTAINER_COMPOSE": "podman-compose"}
    out = run_cli("--dry-run", "docker", "restart", "--project-dir", str(p.dir), env=env)
    assert out.returncode == 1, out.stderr  # a dry run with work pending exits 1
    assert f"podman-compose -f {p.file} -p {p.name} down" in out.stdout
    assert f"podman-compose -f {p.file} -p {p.name} up -d" in out.stdout
    rebuilt = run_cli(
        "docker", "rebuild", "--dry-run", "--json", "--project-dir", str(p.dir), env=env
    )
    data = json.loads(rebuilt.stdout)
    assert data["dry_run_commands"] == [f"podman-compose -f {p.file} -p {p.name} build --no-cache"]
    assert p.containers() == [] and not p.image_exists()


def test_unknown_env_via_cli_exits_2_listing_files(compose_project) -> None:
    p = compose_project
    out = run_cli("docker", "up", "--env", "staging", "--project-dir", str(p.dir))
    assert out.returncode == 2
    assert (
        "no compose file for env `staging`" in out.stderr and "docker-compose.dev.yml" in out.stderr
    )
