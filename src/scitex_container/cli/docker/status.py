"""`scitex-container docker status`: the stack's containers (read-only)."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.docker.stack import stack_options
from scitex_container.cli.main import execute
from scitex_container.cli.output import emit


@click.command()
@stack_options
def status(get_stack) -> int:
    """List the stack's containers: name, state, image."""
    from scitex_container.docker.actions import status_stack

    opts = get_options()
    result, _ = execute(lambda: status_stack(get_stack()))
    if opts.json:
        emit(result.reference_dict() | {"project": result.project, "engine": result.engine}, opts)
    elif result.returncode != 0:
        click.echo(f"error: `{' '.join(result.command)}` failed: {result.error}", err=True)
    else:  # an empty stack still prints its header (as every empty list does)
        rows = [{k: c[k] for k in ("name", "state", "image")} for c in result.containers]
        emit(
            rows,
            opts,
            columns=["name", "state", "image"],
            title=f"{result.project} ({result.compose_file})",
        )
    return 0 if result.returncode == 0 else 1
