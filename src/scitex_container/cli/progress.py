"""A live one-line progress display for long commands (builds).

On a terminal it shows the latest output line under a spinner (stderr);
piped, it prints nothing unless ``-v`` was given, in which case every line
goes to stderr.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

import click

from scitex_container.cli.context import Options


@contextlib.contextmanager
def progress_line(opts: Options, label: str) -> Iterator[Callable[[str], None] | None]:
    if opts.json or opts.verbosity < 0:
        yield None
        return
    if not sys.stderr.isatty():
        if opts.verbosity > 0:
            yield lambda line: click.echo(line, err=True)
        else:
            yield None
        return
    from rich.console import Console

    console = Console(stderr=True)
    with console.status(label) as status:

        def update(line: str) -> None:
            status.update(f"{label}  [dim]{line[-100:]}[/dim]")

        yield update
