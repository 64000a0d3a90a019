"""Options shared by every command, defined once.

``--json`` and ``--dry-run`` are accepted both before the command name
(global) and after it (per command); either turns the mode on.
"""

from __future__ import annotations

from dataclasses import dataclass

import click


@dataclass
class Options:
    json: bool = False
    dry_run: bool = False
    verbosity: int = 0  # -1 quiet, 0 normal, 1+ verbose


def get_options(ctx: click.Context | None = None) -> Options:
    ctx = ctx or click.get_current_context()
    root = ctx.find_root()
    if not isinstance(root.obj, Options):
        root.obj = Options()
    return root.obj


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        get_options(ctx).json = True
    return value


def _set_dry_run(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    if value:
        get_options(ctx).dry_run = True
    return value


json_option = click.option(
    "--json",
    "json_",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_set_json,
    help="Print machine-readable JSON on stdout.",
)
dry_run_option = click.option(
    "--dry-run",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_set_dry_run,
    help="Show the commands that would run; change nothing.",
)


def common_options(func):
    """Add ``--json`` and ``--dry-run`` to a command."""
    return json_option(dry_run_option(func))
