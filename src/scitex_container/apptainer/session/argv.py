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

import os
from collections.abc import Sequence
from dataclasses import dataclass

from scitex_container.apptainer.session import validate as v
from scitex_container.apptainer.store.versions import is_sandbox
from scitex_container.errors import BadInputError
from scitex_container.host.mounts import build_host_mount_binds

#: Started by ``attach``: a login bash when the image has one, else sh.
#: A constant: no value is ever interpolated into it.
SHELL_SNIPPET = "if command -v bash >/dev/null 2>&1; then exec bash -l; fi; exec sh -l"
SHELL_ARGV = ("/bin/sh", "-c", SHELL_SNIPPET)
TERM_VALUE = "xterm-256color"


@dataclass(frozen=True)
class SessionPlan:
    """Validated options of one session's container.

    ``flags`` are the options shared by ``exec`` and ``instance start``;
    ``env`` the variables every process in the session gets (``exec`` into
    an instance does not inherit the instance's environment, so they are
    passed again on each exec).
    """

    container_cmd: str
    image: str
    sandbox: bool
    username: str
    project_slug: str
    workdir: str
    env: tuple[tuple[str, str], ...]
    flags: tuple[str, ...]


def session_env(username: str, project_slug: str, pythonpath: str) -> tuple[tuple[str, str], ...]:
    """The session's variables (values are validated names: no comma, quote or newline)."""
    env = [
        ("USER", username),
        ("LOGNAME", username),
        ("SCITEX_USER", username),
        ("SCITEX_PROJECT", project_slug),
        ("TERM", TERM_VALUE),
    ]
    if pythonpath:
        env.append(("PYTHONPATH", pythonpath))
    return tuple(env)


def _texlive_path(prefix: str) -> tuple[tuple[str, str], ...]:
    """``PREPEND_PATH`` (apptainer puts it before the container's PATH) for a TeX
    Live prefix whose ``bin/`` is not on the default PATH."""
    if not prefix:
        return ()
    from scitex_container.host.mounts import STANDARD_PATH

    bindir = os.path.join(os.path.normpath(prefix), "bin")
    if bindir in STANDARD_PATH:
        return ()
    return (("PREPEND_PATH", v.env_value(bindir, "texlive_prefix")),)


def env_flags(env: Sequence[tuple[str, str]]) -> list[str]:
    out: list[str] = []
    for key, value in env:
        out += ["--env", f"{key}={value}"]
    return out


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
    image = v.container_path(container_path)
    user = v.username(username)
    slug = v.project_slug(project_slug)
    home = v.existing_dir(host_user_dir, "host_user_dir")
    project = v.existing_dir(host_project_dir, "host_project_dir")
    repos = v.dev_repos(dev_repos)
    v.host_mounts(host_mounts)
    prefix = v.texlive_prefix(texlive_prefix)
    overlay_img = v.overlay_path(overlay) if overlay not in (None, "") else ""
    if container_cmd is None:
        from scitex_container.apptainer.tool import detect_container_cmd

        container_cmd = detect_container_cmd()
    cmd = v.container_cmd(container_cmd)

    sandbox = is_sandbox(image)
    container_home = f"/home/{user}"
    workdir = f"{container_home}/proj/{slug}"
    pythonpath = ":".join(f"/opt/dev/{name}/src" for name, _ in repos)
    env = session_env(user, slug, pythonpath) + _texlive_path(prefix)

    # A SIF gets full containment (file systems, PID, IPC, environment); a
    # sandbox keeps the host PID/IPC namespaces but not its files or env.
    flags: list[str] = ["--containall"] if not sandbox else ["--contain", "--cleanenv"]
    flags += ["--overlay", overlay_img] if overlay_img else ["--writable-tmpfs"]
    flags += env_flags(env)
    flags += ["--home", f"{home}:{container_home}"]
    flags += ["--bind", f"{project}:{workdir}:rw"]
    for _name, spec in repos:
        flags += ["--bind", spec.arg()]
    flags += build_host_mount_binds(host_mounts, prefix)
    return SessionPlan(cmd, image, sandbox, user, slug, workdir, env, tuple(flags))


def build_dev_pythonpath(dev_repos: list[dict]) -> str:
    """Build a PYTHONPATH that lists ``/opt/dev/{name}/src`` for each dev repo.

    Dev repos follow the src layout (``repo/src/<package>``).  Names are
    validated; host paths are not needed here and not checked.

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

    Returns:
        ``[<container cmd>, "exec", ..., container_path]``.

    Raises:
        BadInputError: naming the field of any invalid input.
    """
    plan = plan_session(
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
    return [plan.container_cmd, "exec", *plan.flags, "--pwd", plan.workdir, plan.image]


def _slurm_resources(partition: str, time_limit: str, cpus: int, memory_gb: int) -> list[str]:
    part = v.partition(partition)
    out = [f"--partition={part}"] if part else []
    return out + [
        f"--time={v.time_limit(time_limit)}",
        f"--cpus-per-task={v.cpus(cpus)}",
        f"--mem={v.memory_gb(memory_gb)}G",
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
    """
    del screen_session
    resources = _slurm_resources(slurm_partition, slurm_time_limit, slurm_cpus, slurm_memory_gb)
    exec_args = build_exec_args(
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
    user = v.username(username)
    head = ["srun", "--pty"] if pty else ["srun"]
    return [
        *head,
        "--chdir=/tmp",
        *resources,
        "--ntasks=1",
        f"--job-name=terminal_{user}",
        *exec_args,
        *SHELL_ARGV,
    ]


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


def build_shell_in_allocation_command(
    job_id: str,
    instance_name: str,
    username: str = "",
    *,
    pty: bool = True,
    container_cmd: str | None = None,
) -> list[str]:
    """Build ``srun --overlap`` that opens a shell in an instance of a running job.

    ``username`` (when given) sets ``USER``/``LOGNAME`` in the shell.  Pass
    ``pty=False`` to feed the shell from a pipe.
    """
    env: list[tuple[str, str]] = []
    if username:
        user = v.username(username)
        env = [("USER", user), ("LOGNAME", user), ("TERM", TERM_VALUE)]
    if container_cmd is None:
        from scitex_container.apptainer.tool import detect_container_cmd

        container_cmd = detect_container_cmd()
    inner = instance_exec_args(container_cmd, instance_name, SHELL_ARGV, env)
    return srun_in_job(job_id, inner, pty=pty)
