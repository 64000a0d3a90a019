"""The per-invocation state every command reads: ``--json``, ``--dry-run``, verbosity."""

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
