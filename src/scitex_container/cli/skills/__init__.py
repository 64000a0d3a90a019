"""`scitex-container skills`: the agent-facing skill pages (the seed's command; one module each)."""

from __future__ import annotations

import click

from scitex_container.cli.seed.help_recursive import group_option
from scitex_container.cli.skills.get import get
from scitex_container.cli.skills.install import install
from scitex_container.cli.skills.list_cmd import list_cmd


@click.group(invoke_without_command=True)
@group_option
@click.pass_context
def skills(ctx: click.Context) -> None:
    """The skill pages bundled for AI agents: list, get, install.

    \b
    Examples:
      scitex-container skills list
      scitex-container skills get 02_quick-start
      scitex-container skills install            # ~/.scitex/dev/skills/scitex-container
    """
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


for _command in (list_cmd, get, install):
    skills.add_command(_command)
