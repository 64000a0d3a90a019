"""What counts as a confirmed stop (our own rules; the node failure itself is in
``test_session_node_failure.py``, slow tier).

The job's output says whether its instance ended; SLURM's ``sinfo`` says
whether a node responds (asked for real).
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from scitex_container import envvars
from scitex_container.apptainer.session import records, stopping
from scitex_container.apptainer.session.records import SessionRecord


@pytest.fixture
def record(tmp_path, monkeypatch) -> SessionRecord:
    monkeypatch.setenv(envvars.SESSIONS_DIR, str(tmp_path / "state"))
    rec = SessionRecord("proj-abc123", "slurm", "/img/x.sif", "alice", "proj", "sx-7", "7")
    records.create_dir(rec.id)
    return rec


def _write(rec: SessionRecord, output: str, script: str = "... INSTANCE_ENDED ...") -> None:
    (records.session_dir(rec.id) / records.OUTPUT_FILE).write_text(output)
    (records.session_dir(rec.id) / records.SCRIPT_FILE).write_text(script)


@pytest.mark.parametrize(
    ("output", "ended"),
    [
        ("INSTANCE_NAME=sx-7\nINSTANCE_READY\nINSTANCE_STOPPED\nINSTANCE_ENDED\n", True),
        ("INSTANCE_FAILED: instance start failed\n", True),  # never ready: no instance ran
        ("", True),  # cancelled before it started
        ("INSTANCE_NAME=sx-7\nINSTANCE_READY\n", False),  # the node never said it ended
        ("INSTANCE_NAME=sx-7\nINSTANCE_READY\nINSTANCE_STOPPED\n", False),  # stop not confirmed
    ],
)
def test_only_the_end_marker_confirms_a_ready_instance_ended(record, output, ended) -> None:
    _write(record, output)
    assert stopping._ended(record, 0) is ended


def test_a_job_from_an_older_script_has_no_marker_to_wait_for(record) -> None:
    _write(record, "INSTANCE_READY\n", script="#!/bin/bash\n# no end marker\n")
    assert stopping._old_script(record) is True
    _write(record, "INSTANCE_READY\n")
    assert stopping._old_script(record) is False


@pytest.mark.slurm
def test_node_responding_asks_slurm() -> None:
    if shutil.which("sinfo") is None:
        pytest.skip("sinfo is required")
    nodes = subprocess.run(
        ["sinfo", "-h", "-N", "-o", "%N %T"], capture_output=True, text=True, check=True
    ).stdout.split("\n")
    up = [
        n.split()[0] for n in nodes if n.strip() and n.split()[1] in ("idle", "mixed", "allocated")
    ]
    assert up, nodes
    assert stopping.node_responding(up[0]) is True
    assert stopping.node_responding("scx-no-such-node") is False
