"""Stopping a SLURM session, and knowing that it stopped.

A stop is confirmed only when SLURM no longer lists the job *and* the node
said the instance ended: the job's script prints :data:`ENDED_MARKER` once
its instance is stopped (or none was started: a job whose output never
said ready ran no instance).  A job SLURM dropped because its node failed
(``NODE_FAIL``) is gone from squeue while its script and instance may still
run on the node: until the node returns, kills the orphaned job and its
script says so, the stop is *pending*.  The record stays, marked
``stop pending: node NODE not responding``, and a later ``session stop`` or
``session list`` finishes it (:func:`finish`).  A job submitted by an
older version, whose script prints no end marker, counts as ended once
SLURM no longer lists it and its node responds (the rule before).
"""

from __future__ import annotations

import time

from scitex_container.apptainer.session import records, slurm
from scitex_container.apptainer.session.argv import srun_in_job
from scitex_container.apptainer.session.records import SessionRecord
from scitex_container.apptainer.session.sbatch_script import ENDED_MARKER, READY_MARKER
from scitex_container.apptainer.tool import detect_container_cmd
from scitex_container.process import runner

PENDING_PREFIX = "stop pending: "
#: How long a node that does not respond gets to let its job go after scancel.
UNRESPONSIVE_WAIT = 5.0
#: How long the end marker may lag behind the job leaving squeue.
MARKER_WAIT = 2.0
#: sinfo states (without the ``*`` not-responding suffix) of a node that cannot answer.
DEAD_STATES = ("down", "unknown", "fail", "future", "no_respond")


def is_pending(record: SessionRecord) -> bool:
    return record.state.startswith(PENDING_PREFIX)


def node_responding(node: str) -> bool:
    """Does SLURM hear from ``node`` (its state has no ``*`` and is not down)?"""
    out = runner.run(
        ["sinfo", "-h", "-N", "-n", node, "-o", "%T"], check=False, readonly=True, timeout=60
    )
    states = [s.strip().lower() for s in out.stdout.splitlines() if s.strip()]
    if not states:
        return False
    return not any(s.endswith("*") or s.startswith(DEAD_STATES) for s in states)


def _output(record: SessionRecord) -> list[str]:
    path = records.session_dir(record.id) / records.OUTPUT_FILE
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return []


def _old_script(record: SessionRecord) -> bool:
    """Was the job submitted with a script that never prints the end marker (older version)?"""
    path = records.session_dir(record.id) / records.SCRIPT_FILE
    try:
        return ENDED_MARKER not in path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def _ended(record: SessionRecord, wait: float) -> bool:
    """Did the job's script say its instance ended (or never say it was ready)?"""
    deadline = time.monotonic() + wait
    while True:
        lines = _output(record)
        if ENDED_MARKER in lines or READY_MARKER not in lines:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


def stop(record: SessionRecord, timeout: float = 60.0) -> str | None:
    """Stop the session's instance and job; None once confirmed, else why it is pending."""
    if not record.job_id:
        return None
    if runner.is_dry_run():  # list what a real stop runs (the runner records, runs nothing)
        job = slurm.squeue().get(record.job_id)  # a query: it runs in a dry run too
        if job is None or job.state not in slurm.ACTIVE_STATES:
            return None  # an ended job: the real run only removes the record
        if job.state == "RUNNING" and record.instance:
            argv = [detect_container_cmd(), "instance", "stop", "--timeout", "3", record.instance]
            runner.run(srun_in_job(record.job_id, argv), check=False)
        runner.run(["scancel", record.job_id], check=False)
        return None
    job = slurm.squeue().get(record.job_id)
    node = (job.node if job is not None else "") or record.node
    responding = node_responding(node) if node else True
    if job is not None and job.state in slurm.ACTIVE_STATES:
        if job.state == "RUNNING" and responding and record.instance:
            argv = [detect_container_cmd(), "instance", "stop", "--timeout", "3", record.instance]
            runner.run(srun_in_job(record.job_id, argv), check=False, timeout=timeout)
        if not slurm.cancel(record.job_id, timeout if responding else UNRESPONSIVE_WAIT):
            if not responding:
                return f"node {node} not responding"
            return f"job {record.job_id} is still listed after scancel"
    if _ended(record, MARKER_WAIT):
        return None
    if not responding or not node:
        return f"node {node or '(unknown)'} not responding"
    if _old_script(record):  # no marker to wait for: the node ended the job, as before
        return None
    return f"node {node} has not confirmed that instance {record.instance} ended"


def finish(record: SessionRecord) -> SessionRecord | None:
    """Try a pending stop again: None once it is confirmed (the record is removed),
    else the record with its reason brought up to date (saved)."""
    why = stop(record)
    if why is None:
        records.remove(record.id)
        return None
    marked = record.with_(state=PENDING_PREFIX + why)
    if marked.state != record.state:
        records.save(marked)
    return marked
