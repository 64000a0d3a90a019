"""`scitex-container docker ...`: drive a Docker Compose stack with whichever engine works.

Every subcommand takes ``--env`` (picks ``docker-compose.<env>.yml``),
``--project-dir``, ``--project-name``, ``--compose-cmd`` and the shared
``--json`` / ``--dry-run``.  Engine output goes to stderr (a progress line
on a terminal, every line with ``-v``, the last lines when it fails); the
result goes to stdout.  A failing engine command exits 1.
"""

from __future__ import annotations

import functools

import click

from scitex_container.cli.context import common_options, get_options
from scitex_container.cli.main import execute
from scitex_container.cli.output import emit, info
from scitex_container.cli.progress import progress_line


def stack_options(func):
    """The options that choose the stack, shared by every subcommand."""

    @click.option(
        "-e",
        "--env",
        default="dev",
        show_default=True,
        help="Environment: uses docker-compose.<env>.yml (else docker-compose.yml).",
    )
    @click.option(
        "--project-dir",
        type=click.Path(exists=True),
        help="Directory of the compose file (or the file). Default: search upward from here.",
    )
    @click.option(
        "-p", "--project-name", help="Compose project name (default: the directory's name)."
    )
    @click.option(
        "--compose-cmd",
        metavar="CMD",
        help="Compose command to use, e.g. 'podman-compose' (also SCITEX_CONTAINER_COMPOSE).",
    )
    @common_options
    @functools.wraps(func)
    def wrapper(env, project_dir, project_name, compose_cmd, **kwargs):
        from scitex_container.docker.stack import resolve

        def get_stack():
            return resolve(env, project_dir, compose_cmd=compose_cmd, project_name=project_name)

        return func(get_stack, **kwargs)

    return wrapper


def _run_action(label: str, action) -> int:
    """Run a stack action with progress, print its result, return the exit code."""
    opts = get_options()
    with progress_line(opts, label) as progress:
        run, commands = execute(lambda: action(progress))
    if run.returncode != 0 and run.output_tail and not opts.json and opts.verbosity <= 0:
        info(run.output_tail, opts)  # with -v every line was shown already
    outcome = "ok" if run.returncode == 0 else f"failed (exit {run.returncode})"
    if commands is not None:
        outcome = "dry run, nothing changed"
    text = f"{run.action} {run.project}: {outcome} [{run.engine} -f {run.compose_file}]"
    emit(run, opts, text=text, dry_run_commands=commands)
    return 0 if run.returncode == 0 else 1


@click.group()
def docker() -> None:
    """Drive a Docker Compose stack (docker compose, docker-compose or podman-compose)."""


@docker.command()
@click.argument("services", nargs=-1)
@stack_options
def rebuild(get_stack, services) -> int:
    """Rebuild the images without the cache (build --no-cache)."""
    from scitex_container.docker.ops import rebuild_stack

    return _run_action(
        "rebuilding", lambda p: rebuild_stack(get_stack(), services=services, on_line=p)
    )


@docker.command()
@stack_options
def restart(get_stack) -> int:
    """Take the stack down, then up -d."""
    from scitex_container.docker.ops import restart_stack

    return _run_action("restarting", lambda p: restart_stack(get_stack(), on_line=p))


@docker.command()
@click.argument("services", nargs=-1)
@click.option("--build", is_flag=True, help="Build images before starting.")
@stack_options
def up(get_stack, services, build) -> int:
    """Start the stack in the background (up -d)."""
    from scitex_container.docker.ops import up_stack

    return _run_action(
        "starting", lambda p: up_stack(get_stack(), services=services, build=build, on_line=p)
    )


@docker.command()
@click.option("-v", "--volumes", is_flag=True, help="Also remove the stack's volumes.")
@stack_options
def down(get_stack, volumes) -> int:
    """Stop and remove the stack's containers and network."""
    from scitex_container.docker.ops import down_stack

    return _run_action("stopping", lambda p: down_stack(get_stack(), volumes=volumes, on_line=p))


@docker.command()
@stack_options
def status(get_stack) -> int:
    """List the stack's containers: name, state, image."""
    from scitex_container.docker.ops import status_stack

    opts = get_options()
    result, _ = execute(lambda: status_stack(get_stack()))
    if opts.json:
        emit(result.reference_dict() | {"project": result.project, "engine": result.engine}, opts)
    elif result.returncode != 0:
        info(f"`{' '.join(result.command)}` failed: {result.error}", opts)
    elif not result.containers:
        emit(None, opts, text=f"no containers in project {result.project} ({result.compose_file})")
    else:
        rows = [{k: c[k] for k in ("name", "state", "image")} for c in result.containers]
        emit(
            rows,
            opts,
            columns=["name", "state", "image"],
            title=f"{result.project} ({result.compose_file})",
        )
    return 0 if result.returncode == 0 else 1


@docker.command()
@click.argument("services", nargs=-1)
@click.option(
    "-n", "--tail", type=click.IntRange(min=0), help="Only the last N lines of each container."
)
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines (Ctrl-C to stop).")
@stack_options
def logs(get_stack, services, tail, follow) -> int:
    """Print the services' logs."""
    from scitex_container.docker.ops import logs_stack
    from scitex_container.errors import BadInputError

    opts = get_options()
    if follow and opts.json:
        raise BadInputError("cannot be combined with --json", "--follow")
    show = None if opts.json else (lambda line: click.echo(line))
    (run, lines), commands = execute(
        lambda: logs_stack(get_stack(), services=services, tail=tail, follow=follow, on_line=show)
    )
    if run.returncode != 0 and not opts.json:
        info(run.output_tail, opts)
    if opts.json:
        data = {
            "compose_file": str(run.compose_file),
            "project": run.project,
            "lines": lines,
            "returncode": run.returncode,
        }
        emit(data, opts, dry_run_commands=commands)
    elif commands is not None:
        emit(None, opts, dry_run_commands=commands)
    return 0 if run.returncode == 0 else 1
