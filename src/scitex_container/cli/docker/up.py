"""`scitex-container docker up`: start the stack in the background."""

from __future__ import annotations

import click

from scitex_container.cli.docker.stack import run_action, stack_options


@click.command()
@click.argument("services", nargs=-1)
@click.option("--build", is_flag=True, help="Build images before starting.")
@stack_options
def up(get_stack, services, build) -> int:
    """Start the stack in the background (up -d)."""
    from scitex_container.docker.actions import up_stack

    return run_action(
        "starting", lambda p: up_stack(get_stack(), services=services, build=build, on_line=p)
    )
