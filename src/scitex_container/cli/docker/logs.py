"""`scitex-container docker logs`: the services' logs (read-only)."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.docker.stack import stack_options
from scitex_container.cli.main import execute
from scitex_container.cli.options import refused_letter
from scitex_container.cli.output import emit, info


@click.command()
@click.argument("services", nargs=-1)
@click.option("--tail", type=click.IntRange(min=0), help="Only the last N lines of each container.")
@refused_letter("-n", "--tail N", "the image name")  # was --tail once: refused, never guessed
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines (Ctrl-C to stop).")
@stack_options
def logs(get_stack, services, tail, follow) -> int:
    """Print the services' logs."""
    from scitex_container.docker.actions import logs_stack
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
