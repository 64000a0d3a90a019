"""Applying the seed's spellings to a loaded command, and making the seed-named aliases."""

from __future__ import annotations

import click

from scitex_container.cli.seed.extend import extended
from scitex_container.cli.seed.table import EXTENSIONS, SUB_ALIASES, SUB_EXTRA

_APPLIED = "_scitex_seed_applied"


def with_seed(path: tuple[str, ...], cmd: click.Command) -> click.Command:
    """``cmd`` (at ``path``) accepting the seed's options; a group gets its subcommands' too."""
    if isinstance(cmd, click.Group):
        if not getattr(cmd, _APPLIED, False):
            for sub_name, sub in list(cmd.commands.items()):
                cmd.commands[sub_name] = with_seed((*path, sub_name), sub)
            for seed_name, ours in SUB_ALIASES.get(path[-1], {}).items():
                cmd.add_command(alias_command(seed_name, cmd.commands[ours], ours))
            for seed_name, spec in SUB_EXTRA.get(path[-1], {}).items():
                import importlib

                module, attr = spec.split(":")
                cmd.add_command(getattr(importlib.import_module(module), attr), seed_name)
            setattr(cmd, _APPLIED, True)
        return cmd
    if getattr(cmd, _APPLIED, False) or path not in EXTENSIONS:
        return cmd
    out = EXTENSIONS[path](cmd)
    setattr(out, _APPLIED, True)
    return out


def alias_command(name: str, target: click.Command, ours: str) -> click.Command:
    """The seed's name ``name`` for our (already extended) command ``target``."""
    out = extended(target, name=name, help_prefix=f"Alias of `{ours}` (the seed's name).  ")
    setattr(out, _APPLIED, True)
    return out


def alias(name: str, ours: str) -> click.Command:
    """A top-level alias: the seed's ``name`` for our command at path ``ours`` ("lock freeze")."""
    import importlib

    from scitex_container.cli.registry import COMMANDS

    parts = tuple(ours.split())
    module, attr = COMMANDS[parts[0]][0].split(":")  # as main.load_command, without a cycle
    cmd = with_seed(parts[:1], getattr(importlib.import_module(module), attr))
    for part in parts[1:]:
        assert isinstance(cmd, click.Group)
        cmd = cmd.commands[part]
    return alias_command(name, cmd, ours)
