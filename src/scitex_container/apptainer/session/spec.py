"""The session spec: every shared session parameter, validated once.

One frozen :class:`SessionSpec` carries what every builder of a session
needs (image, user, directories, dev repos, host mounts, TeX Live, overlay,
container command, SLURM resources).  The reference builders keep their
signatures and build a spec at their edge (:meth:`SessionSpec.create`); the
lifecycle builds one per start and hands it to the backends.  From a spec,
:func:`plan` derives the container options (:class:`SessionPlan`) shared by
``apptainer exec`` and ``apptainer instance start``, so the two never drift.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scitex_container.apptainer.session import validate as v
from scitex_container.binds import BindSpec, bind_args
from scitex_container.errors import BadInputError
from scitex_container.result import Result

TERM_VALUE = "xterm-256color"


@dataclass(frozen=True)
class SessionSpec(Result):
    """Validated parameters of one session (build with :meth:`create`)."""

    container_path: str
    username: str
    host_user_dir: str
    host_project_dir: str
    project_slug: str
    dev_repos: tuple[tuple[str, BindSpec], ...] = ()
    host_mounts: tuple[BindSpec, ...] = ()
    texlive_prefix: str = ""
    overlay: str = ""
    container_cmd: str = "apptainer"
    slurm_partition: str = "compute"
    slurm_time_limit: str = "8:00:00"
    slurm_cpus: int = 4
    slurm_memory_gb: int = 16
    slurm_node: str = ""  #: a node list (``--nodelist``)
    slurm_constraint: str = ""  #: node features (``--constraint``)
    #: TeX Live's binds resolved where the session starts (:func:`resolve_host_tools`);
    #: None: a builder's pure plan (no loader run, no launcher written)
    tool_binds: tuple[BindSpec, ...] | None = None

    @classmethod
    def create(
        cls,
        container_path: object,
        username: object,
        host_user_dir: object,
        host_project_dir: object,
        project_slug: object,
        dev_repos: object = None,
        host_mounts: object = None,
        texlive_prefix: object = "",
        *,
        overlay: object = None,
        container_cmd: str | None = None,
        slurm_partition: object = "compute",
        slurm_time_limit: object = "8:00:00",
        slurm_cpus: object = 4,
        slurm_memory_gb: object = 16,
        slurm_node: object = "",
        slurm_constraint: object = "",
    ) -> SessionSpec:
        """Validate every input (naming the field of the first bad one).

        Syntax only (absolute paths, no control characters, valid names and
        resources): the builders are pure, and the command may run on a node
        that sees other file systems.  What must exist where the command
        runs is checked by :func:`require_host_paths` (``session start``).
        """
        image = v.container_path(container_path)
        user = v.username(username)
        slug = v.project_slug(project_slug)
        home = v.dir_path(host_user_dir, "host_user_dir")
        project = v.dir_path(host_project_dir, "host_project_dir")
        repos = tuple(v.dev_repos(dev_repos))
        mounts = tuple(v.host_mounts(host_mounts))
        prefix = v.texlive_prefix(texlive_prefix)
        overlay_img = v.overlay_path(overlay) if overlay not in (None, "") else ""
        if container_cmd is None:
            container_cmd = named_container_cmd()
        return cls(
            container_path=image,
            username=user,
            host_user_dir=home,
            host_project_dir=project,
            project_slug=slug,
            dev_repos=repos,
            host_mounts=mounts,
            texlive_prefix=prefix,
            overlay=overlay_img,
            container_cmd=v.container_cmd(container_cmd),
            slurm_partition=v.partition(slurm_partition),
            slurm_time_limit=v.time_limit(slurm_time_limit),
            slurm_cpus=v.cpus(slurm_cpus),
            slurm_memory_gb=v.memory_gb(slurm_memory_gb),
            slurm_node=v.nodelist(slurm_node, "slurm_node"),
            slurm_constraint=v.constraint(slurm_constraint),
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SessionSpec:
        """The inverse of ``to_dict`` (validated again: a dict is data)."""
        if not isinstance(data, Mapping):
            raise BadInputError("is not a session spec", "spec")
        keys = set(cls.__dataclass_fields__)
        unknown = set(data) - keys
        if unknown:
            raise BadInputError(f"unknown fields {sorted(unknown)}", "spec")
        repos = [
            {"name": r[0], "host_path": r[1]["host"]} if isinstance(r, (list, tuple)) else r
            for r in data.get("dev_repos") or []
        ]
        mounts = [
            {"host_path": m["host"], "container_path": m["container"], "mode": m["mode"]}
            if isinstance(m, Mapping) and "host" in m
            else m
            for m in data.get("host_mounts") or []
        ]
        skip = {"dev_repos", "host_mounts", "tool_binds"}  # tool binds: resolved at start
        rest = {k: data[k] for k in keys - skip if k in data}
        try:
            return cls.create(dev_repos=repos, host_mounts=mounts, **rest)
        except TypeError as exc:
            raise BadInputError(f"is not a complete session spec ({exc})", "spec") from None

    def resources(self) -> list[str]:
        """``sbatch``/``srun`` resource options."""
        return slurm_resources(
            self.slurm_partition,
            self.slurm_time_limit,
            self.slurm_cpus,
            self.slurm_memory_gb,
            self.slurm_node,
            self.slurm_constraint,
        )


def named_container_cmd() -> str:
    """A builder's container command: ``$SCITEX_CONTAINER_CMD`` or ``apptainer``.

    Named, not looked up: the command runs where the job runs, whose PATH
    resolves it (the submitting host may have no apptainer at all).
    """
    from scitex_container import envvars

    return os.environ.get(envvars.CONTAINER_CMD, "").strip() or "apptainer"


def detected_container_cmd() -> str:
    """The container command found on PATH here, else ``apptainer`` (``session start``)."""
    from scitex_container.apptainer.tool import detect_container_cmd
    from scitex_container.errors import ToolMissingError

    try:
        return detect_container_cmd()
    except ToolMissingError:
        return "apptainer"


def resolve_host_tools(spec: SessionSpec) -> SessionSpec:
    """``spec`` with TeX Live fully set up for this host: where a session starts,
    the host's loader is run and the launchers written (:mod:`scitex_container.host.plan`)."""
    if not spec.texlive_prefix:
        return spec
    from dataclasses import replace

    from scitex_container.host.mounts import texlive_bind_specs

    return replace(spec, tool_binds=tuple(texlive_bind_specs(spec.texlive_prefix)))


def require_host_paths(spec: SessionSpec) -> None:
    """Check, where the session is started, that what the spec binds exists.

    The home and project directories must be directories; every dev repo,
    host mount and the overlay must exist, the TeX Live prefix be a directory.
    Raises BadInputError naming the field of the first that does not.
    """
    dirs = {"host_user_dir": spec.host_user_dir, "host_project_dir": spec.host_project_dir}
    for field, path in dirs.items():
        if not os.path.isdir(path):
            what = "does not exist" if not os.path.lexists(path) else "is not a directory"
            raise BadInputError(f"{what}: {path}", field)
    binds = [(f"dev_repos[{i}].host", b) for i, (_, b) in enumerate(spec.dev_repos)]
    binds += [(f"host_mounts[{i}].host", b) for i, b in enumerate(spec.host_mounts)]
    for field, bind in binds:
        if not os.path.lexists(bind.host):
            raise BadInputError(f"host path does not exist: {bind.host}", field)
    if spec.overlay and not os.path.lexists(spec.overlay):
        raise BadInputError(f"does not exist: {spec.overlay}", "overlay")
    if spec.texlive_prefix and not os.path.isdir(spec.texlive_prefix):
        # refused like a missing --mount, never a session started silently without it
        raise BadInputError(f"host path does not exist: {spec.texlive_prefix}", "texlive_prefix")


def slurm_resources(
    partition: object,
    time_limit: object,
    cpus: object,
    memory_gb: object,
    node: object = "",
    constraint: object = "",
) -> list[str]:
    """``--partition`` (none for ``""``: the cluster's default), ``--nodelist``,
    ``--constraint``, ``--time``, ``--cpus-per-task`` and ``--mem``, each validated."""
    part = v.partition(partition)
    out = [f"--partition={part}"] if part else []
    if node:
        out.append(f"--nodelist={v.nodelist(node)}")
    if constraint:
        out.append(f"--constraint={v.constraint(constraint)}")
    return [
        *out,
        f"--time={v.time_limit(time_limit)}",
        f"--cpus-per-task={v.cpus(cpus)}",
        f"--mem={v.memory_gb(memory_gb)}G",
    ]


@dataclass(frozen=True)
class SessionPlan:
    """The container options of a spec.

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


#: The session's host name, and the PATH every session starts with (both the seed's).
SESSION_HOSTNAME = "scitex-cloud"
SESSION_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"


def session_env(username: str, project_slug: str, pythonpath: str) -> tuple[tuple[str, str], ...]:
    """The session's variables (values are validated: no comma, quote or newline).

    As the seed sets them: ``SCITEX_CLOUD=true`` (code inside detects the
    platform by it), ``SHELL=/bin/bash``, ``PATH`` (:data:`SESSION_PATH`),
    the user, the project and ``TERM``.
    """
    env = [
        ("TERM", TERM_VALUE),
        ("SCITEX_CLOUD", "true"),
        ("SCITEX_PROJECT", project_slug),
        ("SCITEX_USER", username),
        ("USER", username),
        ("LOGNAME", username),
        ("SHELL", "/bin/bash"),
        ("PATH", SESSION_PATH),
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


def plan(spec: SessionSpec) -> SessionPlan:
    """The container options of ``spec`` (layout: see :mod:`.argv`)."""
    from scitex_container.reference.store_versions import is_sandbox

    sandbox = is_sandbox(spec.container_path)
    container_home = f"/home/{spec.username}"
    workdir = f"{container_home}/proj/{spec.project_slug}"
    pythonpath = ":".join(f"/opt/dev/{name}/src" for name, _ in spec.dev_repos)
    env = session_env(spec.username, spec.project_slug, pythonpath)
    env += _texlive_path(spec.texlive_prefix)
    # A SIF gets full containment (file systems, PID, IPC, environment); a
    # sandbox keeps the host PID/IPC namespaces but not its files or env.
    # --cleanenv with --containall changes nothing apptainer does; the seed's
    # argv has it, and code that checks the argv for it finds it.
    flags = ["--containall", "--cleanenv"] if not sandbox else ["--contain", "--cleanenv"]
    flags += ["--overlay", spec.overlay] if spec.overlay else ["--writable-tmpfs"]
    flags += ["--hostname", SESSION_HOSTNAME]
    flags += env_flags(env)
    flags += ["--home", f"{spec.host_user_dir}:{container_home}"]
    flags += ["--bind", f"{spec.host_project_dir}:{workdir}:rw"]
    for _name, bind in spec.dev_repos:
        flags += ["--bind", bind.arg()]
    mounts = [
        {"host_path": b.host, "container_path": b.container, "mode": b.mode}
        for b in spec.host_mounts
    ]
    from scitex_container.host.mounts import build_host_mount_binds  # start only, not list

    if spec.tool_binds is None:
        flags += build_host_mount_binds(mounts, spec.texlive_prefix)
    else:
        flags += build_host_mount_binds(mounts) + bind_args(list(spec.tool_binds))
    return SessionPlan(
        spec.container_cmd,
        spec.container_path,
        sandbox,
        spec.username,
        spec.project_slug,
        workdir,
        env,
        tuple(flags),
    )
