"""`scitex-container docker rebuild`: rebuild the images without the cache."""

from __future__ import annotations

import click

from scitex_container.cli.docker.stack import run_action, stack_options


@click.command()
@click.argument("services", nargs=-1)
@stack_options
def rebuild(get_stack, services) -> int:
    """Rebuild the images without the cache (build --no-cache)."""
    from scitex_container.docker.actions import rebuild_stack

    return run_action(
        "rebuilding", lambda p: rebuild_stack(get_stack(), services=services, on_line=p)
    )
