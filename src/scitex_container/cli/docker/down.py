"""`scitex-container docker down`: stop and remove the stack's containers."""

from __future__ import annotations

import click

from scitex_container.cli.docker.stack import run_action, stack_options


@click.command()
@click.option("--volumes", is_flag=True, help="Also remove the stack's volumes.")
@stack_options
def down(get_stack, volumes) -> int:
    """Stop and remove the stack's containers and network (volumes only with --volumes).

    `-v` is the global --verbose here as everywhere: it never removes volumes.
    """
    from scitex_container.docker.actions import down_stack

    return run_action("stopping", lambda p: down_stack(get_stack(), volumes=volumes, on_line=p))
