"""`scitex-container session start IMAGE`: start a container session (SLURM, or this host)."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.main import execute, pending_exit
from scitex_container.cli.options import ExistingPath, common_options
from scitex_container.cli.output import emit, info


def _dev_repo(value: str) -> dict:
    name, sep, path = value.partition("=")
    if not sep:
        raise click.BadParameter(f"expected NAME=PATH, got {value!r}", param_hint="--dev")
    return {"name": name, "host_path": _absolute(path)}


def _absolute(path: str) -> str:
    """One rule for host paths on the command line: relative ones from the working directory."""
    import os

    return os.path.abspath(path) if path and not os.path.isabs(path) else path


def _mount(spec: str) -> str:
    host, sep, rest = spec.partition(":")
    return _absolute(host) + sep + rest


@click.command("start")
@click.argument("image", type=ExistingPath(readable=False))  # the library says why not
@click.option(
    "-p", "--project", "project_dir", required=True, help="Host project directory (bound rw)."
)
@click.option(
    "--slug", "project_slug", help="Project identifier (default: from the directory name)."
)
@click.option("--home", "home_dir", help="Host directory used as the home (default: yours).")
@click.option(
    "--dev", "dev", multiple=True, metavar="NAME=PATH", help="Dev repo bound ro at /opt/dev/NAME."
)
@click.option(
    "--mount",
    "mounts",
    multiple=True,
    metavar="HOST[:CONTAINER[:MODE]]",
    help="Extra host bind mount.",
)
@click.option(
    "--texlive",
    "texlive_prefix",
    default="",
    help="Bind TeX Live from this host prefix (e.g. /usr).",
)
@click.option("--overlay", help="Persistent overlay image instead of a per-session tmpfs.")
@click.option("--name", "instance_name", help="Instance base name (default: sx-USER-SLUG).")
@click.option(
    "--local/--slurm",
    "local",
    default=None,
    help="Run on this host / on SLURM (default: SLURM when sbatch exists).",
)
@click.option(
    "--partition",
    default="",
    help="SLURM partition (default: the cluster's, or the one holding --node).",
)
@click.option("--node", default="", help="SLURM node to run the session on.")
@click.option("--constraint", default="", help="SLURM node features the session requires.")
@click.option(
    "--time", "time_limit", default="8:00:00", show_default=True, help="SLURM time limit."
)
@click.option("--cpus", default=1, show_default=True, type=int, help="CPUs for the session.")
@click.option("--mem-gb", "memory_gb", default=2, show_default=True, type=int, help="Memory in GB.")
@click.option(
    "--timeout",
    default=120.0,
    show_default=True,
    type=float,
    help="Seconds to wait for the instance once the job runs (queue time is not counted).",
)
@click.option("--no-wait", "no_wait", is_flag=True, help="Return once the job is submitted.")
@click.option(
    "--keep-failed", is_flag=True, help="Keep the record of a failed start (for debugging)."
)
@common_options
def start(
    image,
    project_dir,
    project_slug,
    home_dir,
    dev,
    mounts,
    texlive_prefix,
    overlay,
    instance_name,
    local,
    partition,
    node,
    constraint,
    time_limit,
    cpus,
    memory_gb,
    timeout,
    no_wait,
    keep_failed,
) -> int:
    """Start a session running IMAGE (a .sif file or a sandbox directory).

    While the job waits in the queue, its pending reason and the time waited
    are shown on stderr."""
    from scitex_container.apptainer.session import start_session
    from scitex_container.binds import parse_bind_spec

    host_mounts = [
        {"host_path": b.host, "container_path": b.container, "mode": b.mode}
        for b in (parse_bind_spec(_mount(m), field="--mount") for m in mounts)
    ]
    backend = "auto" if local is None else ("local" if local else "slurm")
    opts = get_options()
    record, commands = execute(
        lambda: start_session(
            image,
            project_dir=project_dir,
            project_slug=project_slug,
            home_dir=home_dir,
            dev_repos=[_dev_repo(d) for d in dev],
            host_mounts=host_mounts,
            texlive_prefix=texlive_prefix,
            overlay=overlay,
            instance_name=instance_name,
            backend=backend,
            partition=partition,
            node=node,
            constraint=constraint,
            time_limit=time_limit,
            cpus=cpus,
            memory_gb=memory_gb,
            timeout=timeout,
            wait=not no_wait,
            keep_failed=keep_failed,
            progress=lambda line: info(line, opts),  # the queue wait (silenced by -q)
        )
    )
    where = (
        f"job {record.job_id} on {record.node or '?'}" if record.backend == "slurm" else "this host"
    )
    text = f"{record.id}\t{record.state}\t{where}\tinstance {record.instance or '-'}"
    emit(record, get_options(), text=text, dry_run_commands=commands)  # the record's one shape
    return pending_exit(True)
