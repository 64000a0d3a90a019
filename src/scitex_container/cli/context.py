"""The per-invocation state every command reads: ``--json``, ``--dry-run``, verbosity."""

from __future__ import annotations

from dataclasses import dataclass

import click


@dataclass
class Options:
    json: bool = False
    dry_run: bool = False
    verbosity: int = 0  # -1 quiet, 0 normal, 1+ verbose
    verbose_count: int = 0  # -v given before and after the command name, added up
    quiet: bool = False


def apply_verbosity(opts: Options, verbose: int = 0, quiet: bool = False) -> None:
    """Add ``-v``/``-q`` (given before or after the command name) and set up logging.

    ``-v``: our own log (every command run) on stderr; never a library's debug log.
    """
    import logging
    import sys

    opts.verbose_count += verbose
    opts.quiet = opts.quiet or quiet
    opts.verbosity = -1 if opts.quiet else opts.verbose_count
    level = logging.ERROR if opts.quiet else logging.WARNING  # -q: library warnings too
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    logging.getLogger().setLevel(level)  # `-q` after the command name: set up already
    ours = logging.getLogger("scitex_container")
    if opts.verbosity > 0 and not getattr(ours, "_scitex_verbose", False):
        ours.setLevel(logging.DEBUG)  # filelock & co. stay at WARNING
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("[scitex] %(message)s"))
        ours.addHandler(handler)
        ours.propagate = False
        ours._scitex_verbose = True  # type: ignore[attr-defined]
    elif opts.quiet and getattr(ours, "_scitex_verbose", False):
        ours.setLevel(logging.ERROR)


def get_options(ctx: click.Context | None = None) -> Options:
    ctx = ctx or click.get_current_context()
    root = ctx.find_root()
    if not isinstance(root.obj, Options):
        root.obj = Options()
    return root.obj
