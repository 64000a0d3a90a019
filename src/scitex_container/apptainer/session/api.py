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
from collections.abc import Callable, Sequence

from scitex_container.apptainer.session import capacity, local, records, slurm, steps
from scitex_container.apptainer.session import validate as v
from scitex_container.apptainer.session.argv import SHELL_ARGV
from scitex_container.apptainer.session.records import SessionRecord
from scitex_container.apptainer.session.sbatch_script import MAX_BASE_NAME
from scitex_container.apptainer.session.spec import (
    SessionSpec,
    detected_container_cmd,
    plan,
    require_host_paths,
    resolve_host_tools,
)
from scitex_container.errors import (
    BadInputError,
    CheckFailedError,
    NotFoundError,
    SessionStepError,
)
from scitex_container.process import runner

BACKEND_CHOICES = ("auto", "slurm", "local")
DEFAULT_TIMEOUT = 120.0


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


SIF_MAGIC = b"SIF_MAGIC"
SIF_MAGIC_OFFSET = 32


def check_image(image: str) -> None:
    """Refuse (exit 2) an image that does not exist, is neither a SIF file nor a
    sandbox directory, or that this user cannot read, before anything is submitted."""
    if not os.path.exists(image):
        from scitex_container.files.pathinfo import not_found

        raise not_found(image, "the image does not exist")
    if os.path.isdir(image):
        if not os.access(image, os.R_OK | os.X_OK):
            from scitex_container.files.pathinfo import not_readable

            raise not_readable(image)
        if not os.path.isdir(os.path.join(image, ".singularity.d")):
            raise BadInputError(
                f"is neither a SIF file nor a sandbox (no .singularity.d): {image}",
                "container_path",
            )
        return
    from scitex_container.files.pathinfo import open_regular

    try:  # a FIFO or device is refused on the opened descriptor, never read
        with open_regular(image, "image") as fh:
            head = fh.read(SIF_MAGIC_OFFSET + len(SIF_MAGIC))
    except PermissionError:
        from scitex_container.files.pathinfo import not_readable

        raise not_readable(image) from None
    if head[SIF_MAGIC_OFFSET:] != SIF_MAGIC:
        raise BadInputError(f"is not a SIF image (no SIF magic): {image}", "container_path")


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
    wait: bool = True,
    keep_failed: bool = False,
    progress: Callable[[str], None] | None = None,
    constraint: str = "",
) -> SessionRecord:
    """Start a session and return its record once the instance runs.

    On SLURM the call waits (unless ``wait`` is false: it returns once the
    job is submitted) for the job's ready marker, at most ``timeout`` seconds
    after the job starts; ``progress`` gets the pending reason and the time
    waited while it queues.  A failed, timed-out or interrupted (INT, TERM,
    HUP) start cancels the job and removes its record unless ``keep_failed``.
    ``node`` (one node name) and ``constraint`` (node features) place a SLURM
    session; with ``node`` and no ``partition`` the partitions holding the
    node are used.  A node list is refused: SLURM would allocate every node
    in it for the one instance (and a step into the job would run on each).

    Raises:
        BadInputError: an invalid input (named); NotFoundError: no image.
        CheckFailedError: the instance did not start (the job is gone).
    """
    chosen = choose_backend(backend)
    me, my_home = current_user()
    user = v.account(username if username is not None else me)
    image = _absolute(container_path, "container_path")
    project = _absolute(project_dir, "project_dir")
    home = _absolute(home_dir if home_dir is not None else my_home, "home_dir")
    slug = v.project_slug(project_slug if project_slug is not None else slug_from_dir(project))
    base = instance_name if instance_name is not None else f"sx-{user}-{slug}"[:MAX_BASE_NAME]
    base = v.instance_name(base.rstrip("-_") if instance_name is None else base)
    if not isinstance(timeout, (int, float)) or not 0 < timeout <= 86400:
        raise BadInputError(f"must be between 0 and 86400 seconds, got {timeout!r}", "timeout")
    if chosen != "slurm" and (node or constraint):
        raise BadInputError("places SLURM jobs: not with the local backend", "node/constraint")
    if node and not v.NODE_RE.fullmatch(str(node)):
        v.nodelist(node)  # says what is wrong with a malformed value first
        raise BadInputError(
            f"a session runs on one node: give one node name, not {node!r} "
            "(choose among several with --partition or --constraint)",
            "slurm_nodelist",
        )
    if chosen == "slurm" and node and not partition:
        partition = slurm.partitions_of(node)
    spec = SessionSpec.create(
        image,
        user,
        home,
        project,
        slug,
        dev_repos,
        host_mounts,
        texlive_prefix,
        overlay=overlay,
        container_cmd=container_cmd if container_cmd is not None else detected_container_cmd(),
        slurm_partition=partition,
        slurm_time_limit=time_limit,
        slurm_cpus=cpus,
        slurm_memory_gb=memory_gb,
        slurm_node=node,
        slurm_constraint=constraint,
    )
    check_image(image)
    capacity.check_project_dir(project)
    require_host_paths(spec)  # what the pure builders did not check: here is where it runs
    spec = resolve_host_tools(spec)  # the loader run and launchers written: here, not in builders
    if chosen == "slurm":  # SLURM's own view: exit 2 now rather than pending forever
        capacity.check_capacity(
            spec.slurm_partition,
            spec.slurm_node,
            spec.slurm_cpus,
            spec.slurm_memory_gb,
            spec.slurm_time_limit,
        )
    from scitex_container.apptainer.signing.policy import require_signature  # start only

    require_signature("session_start", image)  # the site policy's gate, before any submission
    container = plan(spec)
    record = SessionRecord(
        id=records.new_session_id(slug),
        backend=chosen,
        image=image,
        username=user,
        project_slug=slug,
        workdir=container.workdir,
        project_dir=str(project),
        env=container.env,
    )
    if chosen == "local":
        return local.start(record, spec, base_name=base, timeout=timeout, keep_failed=keep_failed)
    return slurm.start(
        record,
        spec,
        base_name=base,
        timeout=timeout,
        wait=wait,
        keep_failed=keep_failed,
        progress=progress,
    )


def _backend(record: SessionRecord):
    return slurm if record.backend == "slurm" else local


def _argv(argv: Sequence[str]) -> list[str]:
    if isinstance(argv, str) or not argv or not all(isinstance(a, str) for a in argv):
        raise BadInputError("must be a non-empty list of strings", "argv")
    return list(argv)


def _running(session_id: str):
    """The running session's record and backend; else SessionStepError (125).

    For ``exec``/``attach`` no such session and a session not running are
    our failures, with our code (125), never a code the command could exit with.
    """
    try:
        record = records.find(session_id)  # the id, the job id or the instance name
        backend = _backend(record)
        backend.require_running(record)
    except (NotFoundError, CheckFailedError) as exc:  # no such session, not running
        raise SessionStepError(str(exc)) from None
    return record, backend


def exec_in_session(
    session_id: str, argv: Sequence[str], *, capture: bool = False
) -> runner.Completed:
    """Run ``argv`` inside the session's instance; returns its outcome.

    The command's own exit status is returned (no raise on it); its output
    passes through unless ``capture``, without srun's report of its exit.
    Our own failures raise (:mod:`.steps`): CommandNotFoundInSession (127),
    CommandNotRunnableInSession (126), SessionStepError (125: srun, the node
    or the instance).
    """
    record, backend = _running(session_id)
    argv = _argv(argv)
    full = backend.step_argv(record, argv)
    if capture:
        done = runner.run(full, check=False, capture=True)
    else:
        done = runner.relay(full, steps.shown)
    if not done.dry_run:
        steps.check_step(record.id, argv, done.returncode, done.stderr)
    return done


def attach_session(session_id: str, *, pty: bool | None = None) -> int:
    """Open a login shell in the session; ``pty=None`` uses one when stdin is a terminal.

    Returns the shell's exit status, without srun's report of it; our own
    failures raise as :func:`exec_in_session`'s do.
    """
    record, backend = _running(session_id)
    if pty is None:
        pty = os.isatty(0)
    full = backend.step_argv(record, list(SHELL_ARGV), pty=pty)
    done = runner.relay(full, steps.shown, interactive=True)
    if not done.dry_run:  # the shell's status is the user's; the step failing is ours
        steps.check_step(record.id, SHELL_ARGV, done.returncode, done.stderr)
    return done.returncode


def stop_session(session_id: str) -> SessionRecord:
    """Stop the instance, end the job and remove the session's record.

    On SLURM the record is removed only once SLURM no longer lists the job
    and the node confirmed the instance ended (:mod:`.stopping`); until
    then it stays, marked ``stop pending: <why>``, and CheckFailedError
    (exit 1) says so.  A later ``stop`` (or ``list``) finishes it.
    """
    record = records.find(session_id)  # the id, the job id or the instance name
    if record.backend == "slurm":
        from scitex_container.apptainer.session import stopping

        pending = stopping.finish(record)
        if pending is not None:
            raise CheckFailedError(
                f"session {record.id}: {pending.state}; the record is kept "
                f"(`session stop {record.id}` or `session list` finishes it once the node "
                "answers)"
            )
        return record.with_(state="stopped")
    local.stop(record)
    records.remove(record.id)
    return record.with_(state="stopped")
