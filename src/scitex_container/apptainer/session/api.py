"""The session lifecycle: start, list, exec, attach and stop.

A session runs on SLURM (a batch job holding an Apptainer instance) or, on
a machine without a scheduler, as an instance on this host.  ``backend=
"auto"`` picks SLURM when ``sbatch`` is on PATH.  Every input is validated
before anything is written or submitted.
"""

from __future__ import annotations

import os
import pwd
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scitex_container import runner
from scitex_container.apptainer.session import local, records, slurm
from scitex_container.apptainer.session import validate as v
from scitex_container.apptainer.session.argv import SHELL_ARGV, plan_session
from scitex_container.apptainer.session.records import SessionRecord
from scitex_container.apptainer.session.sbatch_script import MAX_BASE_NAME
from scitex_container.errors import BadInputError, NotFoundError
from scitex_container.result import Result

BACKEND_CHOICES = ("auto", "slurm", "local")
DEFAULT_TIMEOUT = 120.0


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


def choose_backend(backend: str = "auto") -> str:
    if backend not in BACKEND_CHOICES:
        raise BadInputError(
            f"must be one of {', '.join(BACKEND_CHOICES)}, got {backend!r}", "backend"
        )
    if backend == "auto":
        return "slurm" if runner.which("sbatch") else "local"
    return backend


def current_user() -> tuple[str, str]:
    """(name, home) of the user running this process."""
    entry = pwd.getpwuid(os.getuid())
    return entry.pw_name, entry.pw_dir


def slug_from_dir(path: str) -> str:
    """A project slug from a directory's name (``My Project`` -> ``My-Project``)."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", os.path.basename(os.path.normpath(path))).strip("-_")
    return name[:64] or "project"


def _absolute(value: object, field: str) -> str:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, str) and value and not value.startswith("/"):
        value = os.path.abspath(value)
    return v.abs_path(value, field)


def start_session(
    container_path: str | os.PathLike,
    *,
    project_dir: str | os.PathLike,
    project_slug: str | None = None,
    username: str | None = None,
    home_dir: str | os.PathLike | None = None,
    dev_repos: list[dict] | None = None,
    host_mounts: list[dict] | None = None,
    texlive_prefix: str = "",
    overlay: str | None = None,
    instance_name: str | None = None,
    backend: str = "auto",
    partition: str = "",
    time_limit: str = "8:00:00",
    cpus: int = 1,
    memory_gb: int = 2,
    timeout: float = DEFAULT_TIMEOUT,
    container_cmd: str | None = None,
    node: str = "",
    constraint: str = "",
) -> SessionRecord:
    """Start a session and return its record once the instance runs.

    On SLURM the call waits at most ``timeout`` seconds for the job's ready
    marker; a failed, timed-out or interrupted start cancels the job.
    ``node`` (a node list) and ``constraint`` (node features) place the job;
    with ``node`` and no ``partition`` the partitions holding the node are used.

    Raises:
        BadInputError: an invalid input (named); NotFoundError: no image.
        CheckFailedError: the instance did not start (the job is gone).
    """
    chosen = choose_backend(backend)
    me, my_home = current_user()
    user = v.username(username if username is not None else me)
    image = _absolute(container_path, "container_path")
    project = _absolute(project_dir, "project_dir")
    home = _absolute(home_dir if home_dir is not None else my_home, "home_dir")
    slug = v.project_slug(project_slug if project_slug is not None else slug_from_dir(project))
    base = instance_name if instance_name is not None else f"sx-{user}-{slug}"[:MAX_BASE_NAME]
    base = v.instance_name(base.rstrip("-_") if instance_name is None else base)
    if not isinstance(timeout, (int, float)) or not 0 < timeout <= 86400:
        raise BadInputError(f"must be between 0 and 86400 seconds, got {timeout!r}", "timeout")
    args: dict[str, Any] = dict(
        container_path=image,
        username=user,
        host_user_dir=home,
        host_project_dir=project,
        project_slug=slug,
        dev_repos=dev_repos,
        host_mounts=host_mounts,
        texlive_prefix=texlive_prefix,
        overlay=overlay,
        container_cmd=container_cmd,
    )
    plan = plan_session(**args)
    if chosen == "slurm":  # validate the job's options too before anything exists
        v.partition(partition)
        v.time_limit(time_limit)
        v.cpus(cpus)
        v.memory_gb(memory_gb)
        v.nodelist(node)
        v.constraint(constraint)
    elif node or constraint:
        raise BadInputError("places SLURM jobs: not with the local backend", "node/constraint")
    if not os.path.exists(image):
        raise NotFoundError(f"image does not exist: {image}", "container_path")
    if chosen == "slurm" and node and not partition:
        partition = slurm.partitions_of(node)
    args["container_cmd"] = plan.container_cmd
    record = SessionRecord(
        id=records.new_session_id(slug),
        backend=chosen,
        image=image,
        username=user,
        project_slug=slug,
        container_cmd=plan.container_cmd,
        workdir=plan.workdir,
        env=plan.env,
    )
    if chosen == "local":
        return local.start(record, args, base_name=base, timeout=timeout)
    return slurm.start(
        record,
        args,
        base_name=base,
        partition=partition,
        time_limit=time_limit,
        cpus=cpus,
        memory_gb=memory_gb,
        timeout=timeout,
        nodelist=node,
        constraint=constraint,
    )


def list_sessions() -> list[SessionInfo]:
    """This user's sessions with their live state (one squeue / instance list call)."""
    recs = records.all_records()
    jobs = slurm.squeue() if any(r.backend == "slurm" for r in recs) else {}
    running: dict[str, set[str]] = {}
    rows: list[SessionInfo] = []
    for rec in recs:
        if rec.backend == "slurm":
            state, node = slurm.live_state(rec, jobs)
        else:
            if rec.container_cmd not in running:
                running[rec.container_cmd] = local.running_instances(rec.container_cmd)
            state, node = local.live_state(rec, running[rec.container_cmd])
        rows.append(
            SessionInfo(
                rec.id,
                rec.backend,
                rec.job_id,
                rec.instance,
                state,
                node,
                rec.project_slug,
                rec.image,
            )
        )
    return rows


def _backend(record: SessionRecord):
    return slurm if record.backend == "slurm" else local


def _argv(argv: Sequence[str]) -> list[str]:
    if isinstance(argv, str) or not argv or not all(isinstance(a, str) for a in argv):
        raise BadInputError("must be a non-empty list of strings", "argv")
    return list(argv)


def exec_in_session(
    session_id: str, argv: Sequence[str], *, capture: bool = False
) -> runner.Completed:
    """Run ``argv`` inside the session's instance; returns its outcome (no raise on exit code)."""
    record = records.load(v.session_id(session_id))
    backend = _backend(record)
    backend.require_running(record)
    full = backend.step_argv(record, _argv(argv))
    return runner.run(full, check=False, capture=capture)


def attach_session(session_id: str, *, pty: bool | None = None) -> int:
    """Open a login shell in the session; ``pty=None`` uses one when stdin is a terminal."""
    record = records.load(v.session_id(session_id))
    backend = _backend(record)
    backend.require_running(record)
    if pty is None:
        pty = os.isatty(0)
    full = backend.step_argv(record, list(SHELL_ARGV), pty=pty)
    return runner.run(full, check=False, interactive=True).returncode


def stop_session(session_id: str) -> SessionRecord:
    """Stop the instance, end the job and remove the session's record."""
    record = records.load(v.session_id(session_id))
    if record.backend == "slurm":
        slurm.stop(record)
    else:
        local.stop(record)
    records.remove(record.id)
    return record.with_(state="stopped")
