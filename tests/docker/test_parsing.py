"""Parsing engine output: real podman / podman-compose captures (tests/docker/data/capture.sh).

The docker compose samples are written from Compose v2's documented fields
(Name, State, Image): no Docker engine runs on these machines to capture them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scitex_container.docker import engine, podman_compose, ps
from scitex_container.docker.stack import engine_message

DATA = Path(__file__).parent / "data"


def lines(name: str) -> list[str]:
    return (DATA / name).read_text().splitlines()


def test_podman_ps_running_capture() -> None:
    got = ps.parse_podman_ps((DATA / "podman-4.3.1-ps-running.json").read_text())
    assert [(c["name"], c["state"], c["image"]) for c in got] == [
        ("sctxcapture_cache_1", "running", "localhost/busybox:test"),
        ("sctxcapture_web_1", "running", "localhost/sctxcapture-web:dev"),
    ]
    assert got[1]["raw"]["Labels"]["com.docker.compose.service"] == "web"


def test_podman_ps_exited_state_capture() -> None:
    got = ps.parse_podman_ps((DATA / "podman-4.3.1-ps-one-exited.json").read_text())
    assert {c["name"]: c["state"] for c in got} == {
        "sctxcapture_cache_1": "exited",
        "sctxcapture_web_1": "running",
    }


def test_podman_ps_empty_and_garbage() -> None:
    assert ps.parse_podman_ps("[]\n") == []
    assert ps.parse_podman_ps("") == []
    with pytest.raises(ValueError, match="podman ps"):
        ps.parse_podman_ps("CONTAINER ID  IMAGE\n")


COMPOSE_V2_OBJECTS = [
    {
        "ID": "b1",
        "Name": "demo-web-1",
        "Image": "demo-web",
        "Service": "web",
        "State": "running",
        "Status": "Up 2 seconds",
        "Project": "demo",
        "Publishers": [],
    },
    {
        "ID": "a2",
        "Name": "demo-db-1",
        "Image": "postgres:16",
        "Service": "db",
        "State": "exited",
        "Status": "Exited (0) 1 second ago",
        "Project": "demo",
        "Publishers": None,
    },
]


def test_compose_v2_array_and_ndjson_give_the_same() -> None:
    as_array = ps.parse_compose_ps(json.dumps(COMPOSE_V2_OBJECTS))
    as_lines = ps.parse_compose_ps("\n".join(json.dumps(o) for o in COMPOSE_V2_OBJECTS) + "\n")
    assert as_array == as_lines
    assert [(c["name"], c["state"], c["image"]) for c in as_array] == [
        ("demo-db-1", "exited", "postgres:16"),
        ("demo-web-1", "running", "demo-web"),
    ]
    assert as_array[0]["raw"] == COMPOSE_V2_OBJECTS[1]


def test_compose_v2_bad_line_names_it() -> None:
    with pytest.raises(ValueError, match="line 2"):
        ps.parse_compose_ps(json.dumps(COMPOSE_V2_OBJECTS[0]) + "\nnot json\n")


def test_docker_ps_names_string() -> None:
    text = json.dumps({"Names": "demo_web_1,alias", "State": "running", "Image": "demo_web"})
    assert ps.parse_docker_ps(text)[0]["name"] == "demo_web_1"


def test_flavor_from_real_podman_compose_version() -> None:
    text = (DATA / "podman-compose-1.0.3-version.txt").read_text()
    assert engine.flavor_of(["podman-compose"], text) == (engine.PODMAN_COMPOSE, "1.0.3")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Docker Compose version v2.24.6", (engine.DOCKER_V2, "2.24.6")),
        ("Docker Compose version 2.20.2+ds1-0ubuntu1", (engine.DOCKER_V2, "2.20.2+ds1-0ubuntu1")),
        ("docker-compose version 1.29.2, build 5becea4c", (engine.DOCKER_V1, "1.29.2")),
        ("podman-compose version 1.2.0\npodman version 5.0.0", (engine.PODMAN_COMPOSE, "1.2.0")),
        (
            "podman-compose version: 1.0.6\n['podman', '--version', '']",
            (engine.PODMAN_COMPOSE, "1.0.6"),
        ),
        (
            '>>>> Executing external compose provider "/usr/bin/podman-compose". <<<<\n'
            "podman-compose version 1.1.0",
            (engine.PODMAN_COMPOSE, "1.1.0"),
        ),
    ],
)
def test_flavor_from_version_lines(text: str, expected: tuple[str, str]) -> None:
    assert engine.flavor_of(["x"], text) == expected


def test_podman_compose_build_failure_is_found() -> None:
    found = podman_compose.steps(lines("podman-compose-1.0.3-build-fail.txt"))
    assert [(s.verb, s.code) for s in found] == [("build", 1)]
    assert podman_compose.effective_returncode(lines("podman-compose-1.0.3-build-fail.txt"), 0) == 1
    assert podman_compose.effective_returncode(lines("podman-compose-1.0.3-build-ok.txt"), 0) == 0


def test_podman_compose_benign_failures_are_not_failures() -> None:
    # down of a stack that is already gone: stop/rm fail with "no such container"
    again = lines("podman-compose-1.0.3-down-again.txt")
    assert {s.code for s in podman_compose.steps(again)} == {125, 1}
    assert podman_compose.effective_returncode(again, 0) == 0
    # up -d of a running stack: run fails (name in use), the start after it succeeds
    up_again = lines("podman-compose-1.0.3-up-again.txt")
    assert [s.verb for s in podman_compose.steps(up_again)] == ["run", "start", "run", "start"]
    assert podman_compose.effective_returncode(up_again, 0) == 0
    assert podman_compose.effective_returncode(lines("podman-compose-1.0.3-up.txt"), 0) == 0


def test_podman_compose_real_failures_in_benign_looking_steps() -> None:
    up_again = lines("podman-compose-1.0.3-up-again.txt")
    broken = [
        ln.replace("exit code: 0", "exit code: 125") if ln == "exit code: 0" else ln
        for ln in up_again
    ]
    assert podman_compose.effective_returncode(broken, 0) == 125  # run failed and start failed
    stop_refused = ["podman stop -t 10 x", "Error: permission denied", "exit code: 125"]
    assert podman_compose.effective_returncode(stop_refused, 0) == 125
    assert podman_compose.effective_returncode([], 2) == 2  # its own code wins


def test_log_filter_keeps_only_container_lines() -> None:
    filt = podman_compose.LogFilter()
    shown = [out for line in lines("podman-compose-1.0.3-logs.txt") for out in filt.feed(line)]
    filt.close()
    assert [ln.split(" ", 1)[1] for ln in shown] == ["web-started", "cache-started", "built"]
    assert "exit code: 0" in filt.dropped


def test_log_filter_keeps_an_exit_code_line_from_a_container() -> None:
    filt = podman_compose.LogFilter()
    feed = ["podman logs c1", "exit code: 3", "after", "exit code: 0"]
    shown = [out for line in feed for out in filt.feed(line)]
    filt.close()
    assert shown == ["exit code: 3", "after"]


def test_engine_message_from_real_yaml_traceback() -> None:
    said = engine_message((DATA / "podman-compose-1.0.3-yaml-error.txt").read_text())
    assert said.startswith("yaml.parser.ParserError: while parsing a flow sequence")
    assert "/tmp/sctx-capture/docker-compose.broken.yml" in said and "line 3" in said
    assert "\n" not in said
