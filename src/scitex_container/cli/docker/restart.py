"""`scitex-container docker restart`: take the stack down, then up."""

from __future__ import annotations

import click

from scitex_container.cli.docker.stack import run_action, stack_options


@click.command()
@stack_options
def restart(get_stack) -> int:
    """Take the stack down, then up -d."""
    from scitex_container.docker.actions import restart_stack

    return run_action("restarting", lambda p: restart_stack(get_stack(), on_line=p))
