"""Every command group takes the seed's ``--help-recursive`` (``sandbox``, ``apptainer``...)."""

from __future__ import annotations

import click

from scitex_container.cli.main import cli


def test_every_group_shows_its_help_recursively(sx):
    ctx = click.Context(cli)
    groups = [n for n in cli.list_commands(ctx) if isinstance(cli.get_command(ctx, n), click.Group)]
    assert {"sandbox", "apptainer", "session", "mcp"} <= set(groups)
    for name in groups:
        ran = sx(name, "--help-recursive")
        assert ran.code == 0, (name, ran.err)
        assert f"=== scitex-container {name} ===" in ran.out, name
