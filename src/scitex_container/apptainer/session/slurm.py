"""SLURM backend: a session is a batch job that runs an Apptainer instance.

start: write the instance start script atomically into the session's
directory, ``sbatch`` it, then wait (bounded) for the ready or failed marker
in the job's output.  A failed or interrupted start cancels the job and
waits until SLURM no longer lists it, so nothing is left behind.  exec and
attach are ``srun --overlap --jobid`` steps into the job; stop
(:mod:`.stopping`) stops the instance in a step, then ``scancel``s the job
(whose trap would stop the instance anyway) and waits until the job is
gone and the node said the instance ended.  ``list`` cross-checks a
running job's instance on its node (:mod:`.listing`): squeue alone would
call a job ``running`` whose instance was stopped or died.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from scitex_container.apptainer.session import records
from scitex_container.apptainer.session import validate as v
from scitex_container.apptainer.session.argv import instance_exec_args, srun_in_job
from scitex_container.apptainer.session.records import SessionRecord
from scitex_container.apptainer.session.sbatch_script import (
    FAILED_MARKER,
    NAME_PREFIX,
    READY_MARKER,
    job_instance_name,
    sbatch_argv,
    start_script,
)
from scitex_container.apptainer.session.spec import SessionSpec
from scitex_container.apptainer.tool import detect_container_cmd
from scitex_container.errors import BadInputError, CheckFailedError, ProcessError
from scitex_container.process import interrupts, runner

#: squeue states in which the job still holds (or will hold) its allocation.
ACTIVE_STATES = {
    "PENDING",
    "CONFIGURING",
    "RUNNING",
    "COMPLETING",
    "SUSPENDED",
    "RESIZING",
    "REQUEUED",
    "REQUEUE_HOLD",
    "REQUEUE_FED",
    "SIGNALING",
    "STAGE_OUT",
    "STOPPED",
}
_SEP = "|"


#: Pending reasons SLURM gives a job that can never run as requested.
NEVER_REASONS = {
    "PartitionConfig",
    "PartitionNodeLimit",
    "PartitionTimeLimit",
    "BadConstraints",
    "InvalidAccount",
    "InvalidQOS",
    "DependencyNeverSatisfied",
    "QOSMaxCpuPerJobLimit",
    "QOSMaxMemoryPerJob",
    "AssocMaxCpuPerJobLimit",
}


@dataclass(frozen=True)
class JobState:
    job_id: str
    state: str
    node: str
    reason: str = ""
    name: str = ""


def squeue() -> dict[str, JobState]:
    """This user's jobs known to SLURM: ``job id -> JobState``.

    ``squeue --json`` exists in 22.05 only with the openapi plugins; a fixed
    format with a delimiter no id, state, node list or reason can contain is
    portable (the job name, which may hold it, comes last).
    """
    out = runner.run(["squeue", "-h", "--me", "-o", SQUEUE_FORMAT], readonly=True, timeout=60)
    return parse_squeue(out.stdout)


SQUEUE_FORMAT = f"%i{_SEP}%T{_SEP}%N{_SEP}%r{_SEP}%j"


def parse_squeue(text: str) -> dict[str, JobState]:
    jobs: dict[str, JobState] = {}
    for line in text.splitlines():
        parts = line.strip().split(_SEP, 4)
        if len(parts) == 5 and v.JOB_ID_RE.fullmatch(parts[0]):
            state, node, reason, name = (p.strip() for p in parts[1:])
            reason = "" if reason == "None" else reason
            jobs[parts[0]] = JobState(parts[0], state, node, reason, name)
    return jobs


def partitions_of(nodelist: str) -> str:
    """The partitions (comma-separated, as ``sbatch -p`` takes them) holding the nodes.

    Lets ``--node`` alone place a session on a node outside the default partition.

    Raises:
        BadInputError: SLURM knows no node of that name.
    """
    names = v.nodelist(nodelist)
    out = runner.run(["sinfo", "-h", "-N", "-n", names, "-o", "%R"], readonly=True, timeout=60)
    found = sorted({line.strip() for line in out.stdout.splitlines() if line.strip()})
    if not found and not runner.is_dry_run():
        raise BadInputError(f"SLURM knows no node {names!r} (see `sinfo -N`)", "slurm_nodelist")
    return ",".join(v.partition(p) for p in found)


def _read(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return []


def _outcome(lines: Sequence[str], expected: str) -> tuple[str, str] | None:
    """("ready", "") or ("failed", why) once the output says so; else None."""
    name = ""
    for line in lines:
        if line.startswith(NAME_PREFIX):
            name = line[len(NAME_PREFIX) :]
        elif line.startswith(FAILED_MARKER):
            return "failed", line[len(FAILED_MARKER) :].lstrip(": ") or "failed"
        elif line == READY_MARKER:
            if name != expected:
                return "failed", f"the job started instance {name!r}, expected {expected!r}"
            return "ready", ""
    return None


def job_outcome(record: SessionRecord) -> tuple[str, str] | None:
    """What the session's job output says so far (see :func:`_outcome`)."""
    return _outcome(_read(records.session_dir(record.id) / records.OUTPUT_FILE), record.instance)


def _tail(lines: Iterable[str], n: int = 3) -> str:
    keep = [ln.strip() for ln in lines if ln.strip()][-n:]
    return " | ".join(keep)


def wait_gone(job_id: str, timeout: float = 60.0) -> bool:
    """Wait until SLURM no longer lists ``job_id`` as active."""
    if runner.is_dry_run():
        return True
    deadline = time.monotonic() + timeout
    while True:
        job = squeue().get(job_id)
        if job is None or job.state not in ACTIVE_STATES:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


def cancel(job_id: str, timeout: float = 60.0) -> bool:
    runner.run(["scancel", v.job_id(job_id)], check=False, timeout=60)
    return wait_gone(job_id, timeout)


def start(
    record: SessionRecord,
    spec: SessionSpec,
    *,
    base_name: str,
    timeout: float,
    wait: bool = True,
    keep_failed: bool = False,
    progress: Callable[[str], None] | None = None,
) -> SessionRecord:
    """Submit the session's job and (unless ``wait`` is false) wait for its instance.

    A start that fails, times out or ends by a signal (INT, TERM, HUP) cancels
    its job and removes the session's record (``keep_failed`` keeps it, for
    debugging).  A job SLURM can never run (:data:`NEVER_REASONS`) fails at once
    with SLURM's reason.  ``progress`` gets a line with the pending reason and
    the elapsed time while the job waits in the queue.
    """
    directory = records.session_dir(record.id)
    script_path = directory / records.SCRIPT_FILE
    output_path = directory / records.OUTPUT_FILE
    # Everything is validated (both builders) before anything is written.
    script = start_script(spec, base_name, unique_per_job=True)  # our sessions: one per job
    argv = sbatch_argv(spec, str(script_path), str(output_path))
    records.create_dir(record.id)
    with interrupts.raising():
        try:
            records.write_private(record.id, records.SCRIPT_FILE, script, 0o700)
            records.save(record)
            try:
                out = runner.run(argv, timeout=60).stdout
            except ProcessError as exc:
                said = "; ".join(ln.strip() for ln in exc.stderr.splitlines() if ln.strip())
                raise CheckFailedError(
                    f"session {record.id}: sbatch refused the job: {said or exc}"
                ) from None
            if runner.is_dry_run():
                return record.with_(state="planned")
            job_id = v.job_id(out.strip().split(";")[0], "sbatch output")
            record = records.save(
                record.with_(job_id=job_id, instance=job_instance_name(base_name, job_id))
            )
            if not wait:
                return record.with_(state="submitted")
            node = _wait_ready(record, output_path, timeout, progress)
        except BaseException:
            _fail(record, keep_failed)
            raise
    return records.save(record.with_(state="running", node=node))


def _fail(record: SessionRecord, keep: bool) -> None:
    """Cancel the job of a failed start and drop (or keep) its record.

    ``scancel`` first, then the record, then the wait until SLURM drops the
    job: a process that is killed soon after its signal (``runuser``/``su``
    send SIGKILL two seconds after forwarding SIGTERM) leaves neither.
    """
    live = bool(record.job_id) and not runner.is_dry_run()
    with interrupts.ignored():  # a second signal (runuser forwards one) must not cut this short
        if live:
            runner.run(["scancel", v.job_id(record.job_id)], check=False, timeout=60)
        records.drop_failed(record, keep)
        if live:
            wait_gone(record.job_id)


def _wait_ready(
    record: SessionRecord,
    output_path: Path,
    timeout: float,
    progress: Callable[[str], None] | None = None,
) -> str:
    """Poll the job's output for a marker; check SLURM about once a second.

    The ``timeout`` counts from the moment the job runs: time in the queue is
    reported (pending reason, elapsed) but not limited, unless SLURM says the
    job can never run.
    """
    began = time.monotonic()
    deadline = began + timeout
    next_check = began
    last_note = ""
    while True:
        outcome = _outcome(_read(output_path), record.instance)
        if outcome and outcome[0] == "ready":
            job = squeue().get(record.job_id)
            return job.node if job else ""
        if outcome:
            raise CheckFailedError(
                f"session {record.id}: the instance did not start ({outcome[1]}); "
                f"job {record.job_id} output: {output_path}: {_tail(_read(output_path))}"
            )
        now = time.monotonic()
        if now >= next_check:
            next_check = now + 1.0
            job = squeue().get(record.job_id)
            if job is None or job.state not in ACTIVE_STATES:
                if _outcome(_read(output_path), record.instance):
                    continue  # the marker landed just now: decide on it
                state = job.state if job else "gone"
                raise CheckFailedError(
                    f"session {record.id}: job {record.job_id} ended ({state}) before the "
                    f"instance was ready; output: {output_path}: {_tail(_read(output_path))}"
                )
            if job.state == "PENDING":
                if job.reason in NEVER_REASONS:
                    raise CheckFailedError(
                        f"session {record.id}: SLURM can never run job {record.job_id} as "
                        f"requested (reason: {job.reason}); it was cancelled"
                    )
                deadline = now + timeout  # the clock runs from the start of the job
                note = f"job {record.job_id} pending ({job.reason or 'queued'})"
                if progress and (note != last_note or int(now - began) % 10 == 0):
                    progress(f"{note}, waiting {now - began:.0f}s")
                last_note = note
        if now > deadline:
            raise CheckFailedError(
                f"session {record.id}: job {record.job_id} not ready {timeout:g}s after it "
                f"started (cancelled); output: {output_path}"
            )
        time.sleep(0.05)


def step_argv(record: SessionRecord, argv: Sequence[str], *, pty: bool = False) -> list[str]:
    inner = instance_exec_args(
        detect_container_cmd(), record.instance, argv, record.env, record.workdir
    )
    return srun_in_job(record.job_id, inner, pty=pty)


def live_state(record: SessionRecord, jobs: Mapping[str, JobState]) -> tuple[str, str]:
    """(state, node) of a record given squeue's view alone; a pending job's state
    carries SLURM's reason (``pending (Resources)``).  ``list`` also cross-checks
    a running job's instance (:func:`.listing.slurm_state`)."""
    job = jobs.get(record.job_id)
    if job is not None and job.state == "PENDING":
        return f"pending ({job.reason})" if job.reason else "pending", ""
    if job is not None and job.state in ACTIVE_STATES:
        return job.state.lower(), job.node
    if record.state in ("failed", "planned"):
        return record.state, ""
    return "ended", ""


def require_running(record: SessionRecord) -> None:
    state, _ = live_state(record, squeue())
    if state != "running":
        raise CheckFailedError(f"session {record.id} is not running (state: {state})")
