"""What ``session list`` shows: each record's live state, with as few calls as possible.

One ``squeue`` answers for every SLURM record (state, node, pending reason).
squeue alone would call a job ``running`` whose instance was stopped or died
(until the job's own poll notices), so the instances of running jobs are
cross-checked where they run: one job step per node lists the user's
instances there (:class:`.instances.NodeListing`).  The steps start as soon
as squeue has answered, for every node running a session job (named
``scitex_...``), and run while the records load; a ready session on a node not
asked yet is asked then.  Local records take one ``instance list``.

States of a session whose job runs: ``running`` (its instance is listed),
:data:`STARTING` (no ready marker yet), ``failed`` (the start failed, the job
is ending), :data:`INSTANCE_GONE` (ready once, not listed now) and
:data:`UNCONFIRMED` (the node did not answer).  A record whose stop is
pending (``stop pending: ...``) is tried again; an ``ended`` one says why (``reason``,
from SLURM's record: :mod:`.ending`): once its node confirmed the
instance ended, the record is removed and the row says ``stopped``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from scitex_container.apptainer.session import ending, instances, local, records, slurm, stopping
from scitex_container.apptainer.session.records import SessionRecord
from scitex_container.apptainer.tool import detect_container_cmd
from scitex_container.process import runner
from scitex_container.result import Result

INSTANCE_GONE = "instance-gone"
STARTING = "starting"
UNCONFIRMED = "running (unconfirmed)"
#: Jobs submitted by ``session start`` are named ``scitex_<user>_<slug>``.
JOB_NAME_PREFIX = "scitex_"


@dataclass(frozen=True)
class SessionInfo(Result):
    """One row of ``session list``."""

    id: str
    backend: str
    job_id: str
    instance: str
    state: str
    node: str
    project: str
    image: str
    #: Why an ``ended`` session ended, from SLURM's record (:mod:`.ending`); else "".
    reason: str = ""
    #: When it was started, ISO 8601 UTC (as `session start --json` says it).
    created_at: str = ""


@dataclass(frozen=True)
class InstanceCheck:
    """What the jobs and nodes say about the instances of running jobs.

    ``outcome``: session id -> ``ready`` / ``failed`` as its job's output
    said *before* the nodes answered; ``on_node``: node -> the user's
    instances there (None: the node did not answer).
    """

    outcome: Mapping[str, str]
    on_node: Mapping[str, set[str] | None]


def slurm_state(
    record: SessionRecord, jobs: Mapping[str, slurm.JobState], check: InstanceCheck
) -> tuple[str, str]:
    """(state, node) of a SLURM record: squeue's view, a running job's instance checked."""
    job = jobs.get(record.job_id)
    if job is None or job.state != "RUNNING":
        return slurm.live_state(record, jobs)
    said = check.outcome.get(record.id, STARTING)
    if said != "ready":
        return said, job.node
    names = check.on_node.get(job.node)
    if names is None:
        return UNCONFIRMED, job.node
    return ("running" if record.instance in names else INSTANCE_GONE), job.node


def _check(
    recs: list[SessionRecord],
    jobs: Mapping[str, slurm.JobState],
    nodes: instances.NodeListing | None,
) -> InstanceCheck:
    """Read each running session's markers, ask the nodes not asked yet, collect answers.

    A node asked early (before the markers were read) may have listed its
    instances just before one became ready: a ready instance it does not list
    is asked about once more, so ``instance-gone`` is only said after a listing
    that began once the instance was known to be ready.
    """
    if nodes is None:
        return InstanceCheck({}, {})
    early = nodes.asked()
    outcome: dict[str, str] = {}
    ready: list[tuple[SessionRecord, slurm.JobState]] = []
    for rec in recs:
        job = jobs.get(rec.job_id) if rec.job_id else None
        if job is None or job.state != "RUNNING":
            continue
        said = slurm.job_outcome(rec)
        if said:
            outcome[rec.id] = said[0]
        if said and said[0] == "ready":
            ready.append((rec, job))
            for node, job_id in instances.one_job_per_node([(job.job_id, job.node)]).items():
                nodes.ask(node, job_id)
    answers = nodes.answers()
    again = []
    for rec, job in ready:
        names = answers.get(job.node)
        if job.node in early and names is not None and rec.instance not in names:
            again.append((job.job_id, job.node))
    if again:
        second = instances.NodeListing(detect_container_cmd())
        for node, job_id in instances.one_job_per_node(again).items():
            second.ask(node, job_id)
        answers.update(second.answers())
    return InstanceCheck(outcome, answers)


def _ask_early(jobs: Mapping[str, slurm.JobState]) -> instances.NodeListing | None:
    """Start listing the instances of every node that runs a session job (none: None)."""
    running = [j for j in jobs.values() if j.state == "RUNNING"]
    if not running:
        return None
    nodes = instances.NodeListing(detect_container_cmd())
    ours = ((j.job_id, j.node) for j in running if j.name.startswith(JOB_NAME_PREFIX))
    for node, job_id in instances.one_job_per_node(ours).items():
        nodes.ask(node, job_id)
    return nodes


#: A local session has no SLURM record to say why it ended: its instance is simply gone.
LOCAL_ENDED = "reason unknown (a local session: its instance is gone, no SLURM record)"


def list_sessions() -> list[SessionInfo]:
    """This user's sessions with their live state (see the module's text)."""
    root = records.trusted_root()
    if root is None or not any(root.iterdir()):
        return []
    early = runner.which("squeue") is not None
    jobs = slurm.squeue() if early else {}
    nodes = _ask_early(jobs)  # the steps run while the records load
    try:
        recs = records.all_records()
        slurm_recs = [r for r in recs if r.backend == "slurm"]
        if slurm_recs and not early:
            jobs = slurm.squeue()  # no squeue on PATH: say so (ToolMissingError)
        check = _check(slurm_recs, jobs, nodes)
    finally:
        if nodes is not None:
            nodes.answers()  # never leave a step behind
    running: set[str] | None = None
    rows: list[SessionInfo] = []
    for rec in recs:
        if rec.backend == "slurm" and stopping.is_pending(rec):
            done = stopping.finish(rec)  # the node may be back: finish the stop
            state, node = (done.state, done.node) if done is not None else ("stopped", "")
        elif rec.backend == "slurm":
            state, node = slurm_state(rec, jobs, check)
        else:
            if running is None:
                running = local.running_instances(detect_container_cmd())
            state, node = local.live_state(rec, running)
        info = (rec.id, rec.backend, rec.job_id, rec.instance, state, node)
        why = ""
        if state == "ended":  # an ended session always says why, or that nobody knows
            why = ending.why_ended(rec) if rec.backend == "slurm" else LOCAL_ENDED
        created = records.iso_time(rec.created)
        rows.append(SessionInfo(*info, rec.project_slug, rec.image, why, created))
    return rows
