"""Click's command tree walked: every command and group under the CLI, with its words."""

from __future__ import annotations

from collections.abc import Iterator

import click


def every_command(
    cmd: click.Command, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """(words, command) for ``cmd`` and everything under it, a group before its commands."""
    yield path, cmd
    if isinstance(cmd, click.Group):
        ctx = click.Context(cmd)
        for name in cmd.list_commands(ctx):
            sub = cmd.get_command(ctx, name)
            assert sub is not None, (*path, name)
            yield from every_command(sub, (*path, name))


def params(cmd: click.Command) -> list[click.Parameter]:
    """The command's parameters as click parses them (``--help`` included)."""
    return cmd.get_params(click.Context(cmd))
