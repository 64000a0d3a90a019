"""Session records, backend choice and the CLI's dry run (no scheduler needed)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from clirun import cli

from scitex_container.apptainer.session import api, records
from scitex_container.errors import BadInputError, NotFoundError


@pytest.fixture
def state(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("SCITEX_CONTAINER_SESSIONS_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def _record(**kw) -> records.SessionRecord:
    base = dict(
        id="demo-abc123",
        backend="slurm",
        image="/i.sif",
        username="alice",
        project_slug="demo",
        instance="sx-alice-demo-7",
        job_id="7",
        workdir="/home/alice/proj/demo",
        env=(("USER", "alice"),),
    )
    base.update(kw)
    return records.SessionRecord(**base)


def test_record_round_trip_is_private_and_atomic(state: Path) -> None:
    rec = _record()
    records.create_dir(rec.id)
    records.save(rec)
    assert records.load(rec.id) == rec
    assert (state / rec.id).stat().st_mode & 0o777 == 0o700
    assert (state / rec.id / "session.json").stat().st_mode & 0o777 == 0o600
    assert [r.id for r in records.all_records()] == [rec.id]
    with pytest.raises(FileExistsError):
        records.create_dir(rec.id)
    records.remove(rec.id)
    assert records.all_records() == []


@pytest.mark.parametrize(
    "change",
    [
        {"instance": "x; touch /tmp/p"},
        {"job_id": "7 8"},
        {"env": [["USER", "a,b"]]},
        {"backend": "cloud"},
        {"username": "ro:ot"},
    ],
)
def test_tampered_records_are_refused(state: Path, change: dict) -> None:
    rec = _record()
    records.create_dir(rec.id)
    data = {**rec.to_dict(), **change}
    (state / rec.id / "session.json").write_text(json.dumps(data))
    with pytest.raises(BadInputError):
        records.load(rec.id)
    assert records.all_records() == []  # skipped, never acted on


def test_unknown_or_malicious_session_ids(state: Path) -> None:
    with pytest.raises(NotFoundError):
        records.load("nope")
    for bad in ("../etc", "a/b", "", "-x", "a\n"):
        with pytest.raises(BadInputError) as err:
            api.stop_session(bad)
        assert err.value.where == "session_id"


def test_backend_choice(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert api.choose_backend("auto") == "local"
    (tmp_path / "sbatch").write_text("#!/bin/sh\n")
    (tmp_path / "sbatch").chmod(0o755)
    assert api.choose_backend("auto") == "slurm"
    assert api.choose_backend("local") == "local"
    with pytest.raises(BadInputError):
        api.choose_backend("kubernetes")


def test_slug_from_directory_name() -> None:
    assert api.slug_from_dir("/x/My Project (2)/") == "My-Project-2"
    assert api.slug_from_dir("/") == "project"


def _cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return cli(*args, extra=env)


def test_cli_dry_run_start_writes_and_submits_nothing(tmp_path: Path) -> None:
    image = tmp_path / "x.sif"
    image.write_bytes(b"#!/usr/bin/env run-singularity\n".ljust(32, b"\0") + b"SIF_MAGIC")
    (tmp_path / "proj").mkdir()
    fakebin = tmp_path / "bin"
    fakebin.mkdir()
    for tool in ("sbatch", "apptainer"):
        (fakebin / tool).write_text(f"#!/bin/sh\ntouch {tmp_path}/ran-{tool}\n")
        (fakebin / tool).chmod(0o755)
    env = {
        "SCITEX_CONTAINER_SESSIONS_DIR": str(tmp_path / "state"),
        "PATH": f"{fakebin}:{os.environ['PATH']}",
    }
    done = _cli(
        "--dry-run",
        "session",
        "start",
        str(image),
        "-p",
        str(tmp_path / "proj"),
        "--slurm",
        "--partition",
        "compute",
        env=env,
    )
    assert done.returncode == 1, done.stderr  # a dry run with a submission pending exits 1
    lines = done.stdout.splitlines()
    assert lines[0] == "# dry run: these commands would run"
    assert lines[1].startswith("sbatch --parsable --partition=compute")
    assert not (tmp_path / "state").exists() and not list(tmp_path.glob("ran-*"))
    bad = _cli(
        "session",
        "start",
        str(image),
        "-p",
        str(tmp_path / "proj"),
        "--slurm",
        "--time",
        "1:75:00",
        env=env,
    )
    assert bad.returncode == 2 and bad.stderr.startswith("error: slurm_time_limit:")
    assert not (tmp_path / "state").exists() and not list(tmp_path.glob("ran-*"))


def test_cli_list_without_sessions(tmp_path: Path) -> None:
    done = _cli("--json", "session", "list", env={"SCITEX_CONTAINER_SESSIONS_DIR": str(tmp_path)})
    assert done.returncode == 0 and json.loads(done.stdout) == []
