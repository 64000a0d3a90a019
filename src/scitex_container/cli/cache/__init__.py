"""`scitex-container cache`: list and prune the stage cache (one module each)."""

from __future__ import annotations

import click

from scitex_container.cli.cache.list_cmd import list_cmd
from scitex_container.cli.cache.prune import prune
from scitex_container.cli.seed.help_recursive import group_option


@click.group()
@group_option
def cache() -> None:
    """List and prune the stage cache of builds."""


for _command in (list_cmd, prune):
    cache.add_command(_command)
