"""Engine detection: the first compose command that works, overrides, and none at all."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest
from compose_stack import run_cli, write_project

from scitex_container.docker import engine
from scitex_container.errors import EXIT_TOOL_MISSING


def stub(bin_dir: Path, name: str, script: str) -> None:
    """A stand-in command (a test double for our selection logic only)."""
    bin_dir.mkdir(exist_ok=True)
    path = bin_dir / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def only_path(monkeypatch: pytest.MonkeyPatch, bin_dir: Path) -> None:
    bin_dir.mkdir(exist_ok=True)
    monkeypatch.setenv("PATH", str(bin_dir))


def test_skips_a_docker_client_without_the_compose_plugin(tmp_path: Path, monkeypatch) -> None:
    bins = tmp_path / "bin"
    stub(bins, "docker", "echo \"docker: 'compose' is not a docker command.\" >&2; exit 1\n")
    stub(bins, "docker-compose", 'echo "Docker Compose version v2.99.0"\n')
    only_path(monkeypatch, bins)
    found = engine.detect_engine()
    assert (found.argv, found.flavor, found.version, found.source) == (
        ("docker-compose",),
        engine.DOCKER_V2,
        "2.99.0",
        "auto",
    )


def test_docker_compose_plugin_comes_first(tmp_path: Path, monkeypatch) -> None:
    bins = tmp_path / "bin"
    stub(
        bins, "docker", '[ "$1 $2" = "compose version" ] && echo "Docker Compose version v2.5.0"\n'
    )
    stub(bins, "docker-compose", 'echo "Docker Compose version v2.99.0"\n')
    only_path(monkeypatch, bins)
    assert engine.detect_engine().argv == ("docker", "compose")


def test_no_engine_names_every_candidate_and_what_to_install(tmp_path: Path, monkeypatch) -> None:
    bins = tmp_path / "bin"
    stub(bins, "podman", "echo 'Error: unrecognized command `podman compose`' >&2; exit 125\n")
    only_path(monkeypatch, bins)
    with pytest.raises(engine.NoComposeEngineError) as info:
        engine.detect_engine()
    err = info.value
    assert err.exit_code == EXIT_TOOL_MISSING
    assert [t for t, _ in err.tried] == [
        "docker compose",
        "docker-compose",
        "podman compose",
        "podman-compose",
    ]
    assert "unrecognized command" in str(err) and "not on PATH" in str(err)
    assert "apt-get install podman-compose" in str(err)


def test_env_override_that_does_not_work_is_an_error(monkeypatch) -> None:
    monkeypatch.setenv("SCITEX_CONTAINER_COMPOSE", "scitex-no-such-compose --flag")
    with pytest.raises(engine.NoComposeEngineError, match=r"SCITEX_CONTAINER_COMPOSE.*not on PATH"):
        engine.detect_engine()


def test_argument_beats_env_override(tmp_path: Path, monkeypatch) -> None:
    bins = tmp_path / "bin"
    stub(bins, "mycompose", 'echo "Docker Compose version v2.1.0"\n')
    monkeypatch.setenv("PATH", f"{bins}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("SCITEX_CONTAINER_COMPOSE", "scitex-no-such-compose")
    found = engine.detect_engine(["mycompose"])
    assert (found.argv, found.source) == (("mycompose",), "argument")
    with pytest.raises(Exception, match="is empty"):
        engine.detect_engine("  ")


@pytest.mark.compose
def test_env_override_selects_podman_compose(monkeypatch) -> None:
    monkeypatch.setenv("SCITEX_CONTAINER_COMPOSE", "podman-compose")
    found = engine.detect_engine()
    assert (found.argv, found.flavor, found.source) == (
        ("podman-compose",),
        engine.PODMAN_COMPOSE,
        "SCITEX_CONTAINER_COMPOSE",
    )
    assert found.version[0].isdigit()


@pytest.mark.compose
def test_auto_detection_on_this_machine_finds_a_working_engine() -> None:
    found = engine.detect_engine()
    # Whatever it picked must really answer `version`.
    assert isinstance(engine.probe(found.argv), engine.ComposeEngine)


def test_cli_without_any_engine_exits_3(tmp_path: Path) -> None:
    project = write_project(tmp_path / "proj", "proj")
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    out = run_cli("docker", "status", "--project-dir", str(project.dir), env={"PATH": str(empty)})
    assert out.returncode == 3, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no working compose engine")
    assert "podman-compose" in lines[0] and "SCITEX_CONTAINER_COMPOSE" in lines[0]
    assert os.path.dirname(sys.executable)  # the interpreter was found by absolute path


def test_the_choice_is_remembered_across_processes_until_an_engine_changes(
    tmp_path: Path, monkeypatch
) -> None:
    bins = tmp_path / "bin"
    calls = tmp_path / "calls"
    counting = f'echo probed >> {calls}; echo "Docker Compose version v2.7.0"\n'
    stub(bins, "docker-compose", counting)
    only_path(monkeypatch, bins)

    def probes() -> int:
        return len(calls.read_text().splitlines()) if calls.exists() else 0

    assert engine.detect_engine().argv == ("docker-compose",)
    engine.clear_cache()  # as a new process starts: only the memo on disk is left
    found = engine.detect_engine()
    assert (found.argv, found.flavor, found.version, found.source) == (
        ("docker-compose",),
        engine.DOCKER_V2,
        "2.7.0",
        "auto",
    )
    assert probes() == 1 and engine.memo_file().exists()

    # another engine appears earlier in the order: the key changes, it is probed and chosen
    stub(
        bins, "docker", '[ "$1 $2" = "compose version" ] && echo "Docker Compose version v2.9.0"\n'
    )
    engine.clear_cache()
    assert engine.detect_engine().argv == ("docker", "compose")

    # the remembered engine is upgraded in place: probed again, its new version seen
    (bins / "docker").unlink()
    stub(bins, "docker-compose", counting.replace("v2.7.0", "v2.8.0"))
    engine.clear_cache()
    assert engine.detect_engine().version == "2.8.0"
    assert probes() == 2


def test_an_engine_that_fails_is_not_remembered(tmp_path: Path, monkeypatch) -> None:
    bins = tmp_path / "bin"
    stub(bins, "podman", "echo 'Error: unrecognized command `podman compose`' >&2; exit 125\n")
    only_path(monkeypatch, bins)
    with pytest.raises(engine.NoComposeEngineError):
        engine.detect_engine()
    assert not engine.memo_file().exists()


def test_a_stale_or_broken_memo_is_probed_again(tmp_path: Path, monkeypatch) -> None:
    bins = tmp_path / "bin"
    stub(bins, "docker-compose", 'echo "Docker Compose version v2.7.0"\n')
    only_path(monkeypatch, bins)
    engine.detect_engine()
    memo = engine.memo_file()
    data = json.loads(memo.read_text())
    (entry,) = data.values()
    entry["version"], entry["at"] = "9.9.9", entry["at"] - engine.MEMO_MAX_AGE_S - 1
    memo.write_text(json.dumps(data))
    engine.clear_cache()
    assert engine.detect_engine().version == "2.7.0"  # too old: probed, not served
    memo.write_text("{not json")
    engine.clear_cache()
    assert engine.detect_engine().version == "2.7.0"
