"""A session is named by its id, its SLURM job id or its instance name (issue 21, item 6)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scitex_container.apptainer.session import records
from scitex_container.apptainer.session.records import SessionRecord
from scitex_container.errors import BadInputError, NotFoundError


def _record(sid: str, job: str, instance: str) -> SessionRecord:
    return SessionRecord(
        id=sid,
        backend="slurm",
        image="/x.sif",
        username="u",
        project_slug="p",
        instance=instance,
        job_id=job,
    )


def test_find_by_id_job_or_instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "sessions"
    monkeypatch.setenv("SCITEX_CONTAINER_SESSIONS_DIR", str(state))
    for sid, job, inst in (("proj-aaaaaa", "74", "sx-u-a"), ("proj-bbbbbb", "75", "sx-u-b")):
        records.create_dir(sid)
        records.save(_record(sid, job, inst))
    assert records.find("proj-aaaaaa").id == "proj-aaaaaa"
    assert records.find("75").id == "proj-bbbbbb"
    assert records.find("sx-u-a").id == "proj-aaaaaa"
    with pytest.raises(NotFoundError, match="no session, job or instance '76'"):
        records.find("76")
    records.create_dir("proj-cccccc")
    records.save(_record("proj-cccccc", "77", "sx-u-a"))
    with pytest.raises(BadInputError, match="names 2 sessions"):
        records.find("sx-u-a")


@pytest.mark.apptainer
def test_exec_attach_and_stop_take_the_instance_name(workspace, user_image: Path) -> None:
    ws = workspace
    done = ws.cli("--json", "session", "start", "--local", str(user_image), "-p", str(ws.project))
    assert done.returncode == 0, done.stderr
    rec = json.loads(done.stdout)
    ran = ws.cli("session", "exec", rec["instance"], "--", "echo", "by-instance")
    assert ran.returncode == 0 and ran.stdout.strip() == "by-instance", ran.stderr
    ran = ws.cli("--json", "session", "exec", rec["instance"], "--", "sh", "-c", "echo out; exit 3")
    assert ran.returncode == 3
    assert ran.stdout.splitlines() == ["out", '{"exit_code": 3}']  # one final JSON line
    shell = ws.cli("session", "attach", rec["instance"], input="echo attached\n")
    assert shell.returncode == 0 and "attached" in shell.stdout
    stopped = ws.cli("session", "stop", rec["instance"])
    assert stopped.returncode == 0, stopped.stderr
    assert rec["instance"] not in ws.instances()
