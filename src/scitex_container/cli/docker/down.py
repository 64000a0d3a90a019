"""`scitex-container docker down`: stop and remove the stack's containers."""

from __future__ import annotations

import click

from scitex_container.cli.docker.stack import run_action, stack_options


@click.command()
@click.option("--volumes", is_flag=True, help="Also remove the stack's volumes.")
@click.option("-v", "volumes_v", is_flag=True, hidden=True)  # old spelling of --volumes
@stack_options
def down(get_stack, volumes, volumes_v) -> int:
    """Stop and remove the stack's containers and network."""
    volumes = volumes or volumes_v
    from scitex_container.docker.actions import down_stack

    return run_action("stopping", lambda p: down_stack(get_stack(), volumes=volumes, on_line=p))
