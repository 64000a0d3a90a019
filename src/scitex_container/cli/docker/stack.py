"""What every `docker` subcommand shares: the options that choose the stack, and running an action.

Every subcommand takes ``--env`` (picks ``docker-compose.<env>.yml``),
``--project-dir``, ``--project-name``, ``--compose-cmd`` and the shared
``--json`` / ``--dry-run``.  Engine output goes to stderr (a progress line
on a terminal, every line with ``-v``, the last lines when it fails); the
result goes to stdout.  A failing engine command exits 1.
"""

from __future__ import annotations

import functools

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.main import execute, pending_exit
from scitex_container.cli.options import EXISTING, common_options
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
        type=EXISTING,
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


def run_action(label: str, action) -> int:
    """Run a stack action with progress, print its result, return the exit code."""
    opts = get_options()
    with progress_line(opts, label) as progress:
        run, commands = execute(lambda: action(progress))
    if run.returncode != 0 and run.output_tail and not opts.json and opts.verbosity <= 0:
        info(run.output_tail, opts)  # with -v every line was shown already
    outcome = "ok" if run.returncode == 0 else f"failed (exit {run.returncode})"
    text = f"{run.action} {run.project}: {outcome} [{run.engine} -f {run.compose_file}]"
    if commands is not None:  # what the real run would do: the commands listed above
        what = f"run the {len(commands)} command(s) above" if commands else "run nothing"
        text = f"would {what} to {run.action} {run.project} [{run.engine} -f {run.compose_file}]"
    emit(run, opts, text=text, dry_run_commands=commands)
    if commands is not None:
        return pending_exit(bool(commands))
    return 0 if run.returncode == 0 else 1
