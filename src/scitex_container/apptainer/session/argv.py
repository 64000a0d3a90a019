"""Command builders for user sessions: ``apptainer exec``, ``srun`` and shells.

Every builder validates all of its inputs first (see :mod:`.validate`) and
returns an argv list; nothing is formatted into a shell string.  One
:class:`SessionPlan` holds the validated options shared by ``apptainer exec``
and ``apptainer instance start`` so the two can never drift apart.

Layout inside the container, for user ``U`` and project ``P``:
home ``/home/U`` (from ``host_user_dir``), project ``/home/U/proj/P`` (rw,
the working directory), dev repos ``/opt/dev/<name>`` (ro, their ``src/`` on
``PYTHONPATH``), host mounts and TeX Live at the paths given.
"""

from __future__ import annotations

from collections.abc import Sequence

from scitex_container.apptainer.session import validate as v
from scitex_container.apptainer.session.spec import (
    TERM_VALUE,
    SessionPlan,
    SessionSpec,
    env_flags,
    named_container_cmd,
    plan,
)
from scitex_container.errors import BadInputError

#: Started by ``attach``: a login bash when the image has one, else sh.
#: A constant: no value is ever interpolated into it.
SHELL_SNIPPET = "if command -v bash >/dev/null 2>&1; then exec bash -l; fi; exec sh -l"
SHELL_ARGV = ("/bin/sh", "-c", SHELL_SNIPPET)


def plan_session(
    container_path: str,
    username: str,
    host_user_dir: object,
    host_project_dir: object,
    project_slug: str,
    dev_repos: list[dict] | None = None,
    host_mounts: list[dict] | None = None,
    texlive_prefix: str = "",
    *,
    overlay: str | None = None,
    container_cmd: str | None = None,
) -> SessionPlan:
    """Validate every input and work out the container options."""
    return plan(
        SessionSpec.create(
            container_path,
            username,
            host_user_dir,
            host_project_dir,
            project_slug,
            dev_repos,
            host_mounts,
            texlive_prefix,
            overlay=overlay,
            container_cmd=container_cmd,
        )
    )


def build_dev_pythonpath(dev_repos: list[dict]) -> str:
    """Build a PYTHONPATH that lists ``/opt/dev/{name}/src`` for each dev repo.

    Dev repos follow the src layout (``repo/src/<package>``).  Names are
    validated; host paths are not needed here and not checked.

    Args:
        dev_repos: Dev repositories, each ``{"name", "host_path"}``: bound read-only at
            ``/opt/dev/<name>`` and put on PYTHONPATH (``/opt/dev/<name>/src``).

    Returns:
        Colon-separated PYTHONPATH string, or ``""`` when there are no repos.
    """
    if not dev_repos:
        return ""
    if not isinstance(dev_repos, (list, tuple)):
        raise BadInputError(f"must be a list, got {type(dev_repos).__name__}", "dev_repos")
    names = []
    for i, repo in enumerate(dev_repos):
        if not isinstance(repo, dict):
            raise BadInputError("must be a mapping with a name", f"dev_repos[{i}]")
        names.append(v.dev_repo_name(repo.get("name"), f"dev_repos[{i}].name"))
    return ":".join(f"/opt/dev/{name}/src" for name in names)


def build_exec_args(
    container_path: str,
    username: str,
    host_user_dir: object,
    host_project_dir: object,
    project_slug: str,
    dev_repos: list[dict] | None = None,
    host_mounts: list[dict] | None = None,
    texlive_prefix: str = "",
    *,
    overlay: str | None = None,
    container_cmd: str | None = None,
) -> list[str]:
    """Build the ``apptainer exec`` argument list for a user session.

    ``--containall`` for SIF images (a sandbox gets ``--contain --cleanenv``),
    ``--writable-tmpfs`` per session or ``--overlay`` when a persistent
    overlay image is given, the session's ``--env`` variables (PYTHONPATH for
    dev repos), ``--home``, the project bind (rw, the working directory), dev
    repos read-only at ``/opt/dev/<name>``, host mounts and TeX Live binds.

    Args:
        username: The session user's name (USER/LOGNAME inside; home
            ``/home/<username>``).
        host_user_dir: Host directory bound as the user's home (must exist).
        host_project_dir: Host project directory bound read-write at
            ``/home/<username>/proj/<project_slug>``, the working directory (must
            exist).
        project_slug: The project's identifier (SCITEX_PROJECT, the working directory's
            name).
        dev_repos: Dev repositories, each ``{"name", "host_path"}``: bound read-only at
            ``/opt/dev/<name>`` and put on PYTHONPATH (``/opt/dev/<name>/src``).
        host_mounts: Extra binds, each ``{"host_path", "container_path", "mode"}`` (mode
            ``ro``/``rw``; none given: ``rw``, as the seed).
        texlive_prefix: Bind TeX Live from this host prefix (e.g. ``/usr``); empty: no
            TeX Live binds.
        container_cmd: The container command (``apptainer``/``singularity`` or a path);
            None: ``$SCITEX_CONTAINER_CMD`` or ``apptainer``, resolved where it runs.

    Returns:
        ``[<container cmd>, "exec", ..., container_path]``.

    Raises:
        BadInputError: naming the field of any invalid input.
    """
    spec = SessionSpec.create(
        container_path,
        username,
        host_user_dir,
        host_project_dir,
        project_slug,
        dev_repos,
        host_mounts,
        texlive_prefix,
        overlay=overlay,
        container_cmd=container_cmd,
    )
    return exec_argv(spec)


def exec_argv(spec: SessionSpec) -> list[str]:
    """``<cmd> exec <flags> --pwd <project> <image>`` of a spec."""
    p = plan(spec)
    return [p.container_cmd, "exec", *p.flags, "--pwd", p.workdir, p.image]


def srun_argv(spec: SessionSpec, *, pty: bool = True) -> list[str]:
    """``srun`` in a new allocation with the spec's resources, opening a login shell."""
    head = ["srun", "--pty"] if pty else ["srun"]
    return [
        *head,
        "--chdir=/tmp",
        *spec.resources(),
        "--ntasks=1",
        f"--job-name=terminal_{spec.username}",
        *exec_argv(spec),
        *SHELL_ARGV,
    ]


def build_srun_command(
    container_path: str,
    username: str,
    host_user_dir: object,
    host_project_dir: object,
    project_slug: str,
    dev_repos: list[dict] | None = None,
    host_mounts: list[dict] | None = None,
    texlive_prefix: str = "",
    slurm_partition: str = "compute",
    slurm_time_limit: str = "8:00:00",
    slurm_cpus: int = 4,
    slurm_memory_gb: int = 16,
    screen_session: str = "scitex-0",
    *,
    overlay: str | None = None,
    container_cmd: str | None = None,
    pty: bool = True,
) -> list[str]:
    """Build ``srun`` + ``apptainer exec`` that opens a login shell in a new allocation.

    ``screen_session`` is deprecated and ignored.  ``slurm_partition=""``
    leaves the partition to the cluster's default.

    Args:
        container_path: The image (SIF or sandbox directory) the session runs.
        username: The session user's name (USER/LOGNAME inside; home
            ``/home/<username>``).
        host_user_dir: Host directory bound as the user's home (must exist).
        host_project_dir: Host project directory bound read-write at
            ``/home/<username>/proj/<project_slug>``, the working directory (must
            exist).
        project_slug: The project's identifier (SCITEX_PROJECT, the working directory's
            name).
        dev_repos: Dev repositories, each ``{"name", "host_path"}``: bound read-only at
            ``/opt/dev/<name>`` and put on PYTHONPATH (``/opt/dev/<name>/src``).
        host_mounts: Extra binds, each ``{"host_path", "container_path", "mode"}`` (mode
            ``ro``/``rw``; none given: ``rw``, as the seed).
        texlive_prefix: Bind TeX Live from this host prefix (e.g. ``/usr``); empty: no
            TeX Live binds.
        slurm_time_limit: SLURM time limit (``D-HH:MM:SS``, ``HH:MM:SS``, minutes...).
        slurm_cpus: CPUs per task.
        slurm_memory_gb: Memory in GB.
        overlay: A persistent overlay image instead of the per-session
            ``--writable-tmpfs``.
        container_cmd: The container command (``apptainer``/``singularity`` or a path);
            None: ``$SCITEX_CONTAINER_CMD`` or ``apptainer``, resolved where it runs.
        pty: Allocate a pseudo-terminal (``srun --pty``) for an interactive shell.
    """
    del screen_session
    spec = SessionSpec.create(
        container_path,
        username,
        host_user_dir,
        host_project_dir,
        project_slug,
        dev_repos,
        host_mounts,
        texlive_prefix,
        overlay=overlay,
        container_cmd=container_cmd,
        slurm_partition=slurm_partition,
        slurm_time_limit=slurm_time_limit,
        slurm_cpus=slurm_cpus,
        slurm_memory_gb=slurm_memory_gb,
    )
    return srun_argv(spec, pty=pty)


def instance_exec_args(
    container_cmd: str,
    instance_name: str,
    argv: Sequence[str],
    env: Sequence[tuple[str, str]] = (),
    workdir: str = "",
) -> list[str]:
    """``<cmd> exec --cleanenv --env ... [--pwd W] instance://NAME argv...``."""
    cmd = v.container_cmd(container_cmd)
    name = v.instance_name(instance_name)
    if isinstance(argv, str) or not all(isinstance(a, str) for a in argv) or not argv:
        raise BadInputError("must be a non-empty list of strings", "argv")
    for a in argv:
        if "\0" in a:
            raise BadInputError("must not contain NUL bytes", "argv")
    for key, value in env:
        if not v.ENV_KEY_RE.fullmatch(key):
            raise BadInputError(f"{key!r} is not a variable name", "env")
        v.env_value(value, f"env.{key}")
    out = [cmd, "exec", "--cleanenv", *env_flags(env)]
    if workdir:
        out += ["--pwd", v.abs_path(workdir, "workdir")]
    return [*out, f"instance://{name}", *argv]


def srun_in_job(job_id: object, argv: Sequence[str], *, pty: bool = False) -> list[str]:
    """``srun --overlap --jobid=J [--pty] argv...``: a step inside a running job."""
    head = ["srun", "--overlap", f"--jobid={v.job_id(job_id)}"]
    return [*head, "--pty", *argv] if pty else [*head, *argv]


def job_instance_name(instance_name: str, job_id: object) -> str:
    """The job-unique instance name ``<instance_name>-<job_id>``.

    The name :func:`~.sbatch_script.build_instance_start_script` gives its
    instance with ``unique_per_job=True`` (our ``session start`` does), made
    from the outside.  A name that already ends in ``-<job_id>`` is returned
    unchanged, so passing the real name works too.
    """
    base = v.instance_name(instance_name)
    job = v.job_id(job_id)
    if base.endswith(f"-{job}"):
        return base
    return v.instance_name(f"{base}-{job}")


def build_shell_in_allocation_command(
    job_id: str,
    instance_name: str,
    username: str = "",
    *,
    pty: bool = True,
    container_cmd: str | None = None,
    workdir: str = "",
    unique_per_job: bool = False,
) -> list[str]:
    """Build ``srun --overlap`` that opens a shell in an instance of a running job.

    The shell reaches ``instance://<instance_name>``, the name given to
    ``build_instance_start_script``; pass ``unique_per_job=True`` when the
    script was built with it (the instance is then :func:`job_instance_name`).
    ``username`` (when given) sets ``USER``/``LOGNAME`` in the shell and its
    working directory to the session's home ``/home/<username>``; without it
    the shell starts in ``/`` (``workdir`` overrides both).  Pass ``pty=False``
    to feed the shell from a pipe.

    Args:
        job_id: The SLURM job that runs the instance.
        container_cmd: The container command (``apptainer``/``singularity`` or a path);
            None: ``$SCITEX_CONTAINER_CMD`` or ``apptainer``, resolved where it runs.
    """
    env: list[tuple[str, str]] = []
    cwd = workdir or "/"
    if username:
        user = v.username(username)
        env = [("USER", user), ("LOGNAME", user), ("TERM", TERM_VALUE)]
        cwd = workdir or f"/home/{user}"
    if container_cmd is None:
        container_cmd = named_container_cmd()  # resolved where the step runs
    job = v.job_id(job_id)
    name = (
        job_instance_name(instance_name, job) if unique_per_job else v.instance_name(instance_name)
    )
    inner = instance_exec_args(container_cmd, name, SHELL_ARGV, env, cwd)
    return srun_in_job(job, inner, pty=pty)
