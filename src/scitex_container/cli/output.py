"""Printing results: data to stdout (a table, text or JSON), messages to stderr.

Rich is imported only when output goes to a terminal, so piped use and
``--help`` stay fast.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from scitex_container.cli.context import Options
from scitex_container.result import jsonable


def _is_tty() -> bool:
    return sys.stdout.isatty()


def dumps(data: Any) -> str:
    return json.dumps(jsonable(data), indent=2, sort_keys=True, default=str)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def _rows_table(rows: list[dict], columns: list[str] | None, title: str | None) -> None:
    columns = columns or list(dict.fromkeys(k for r in rows for k in r))
    if _is_tty():
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title)
        for col in columns:
            table.add_column(col)
        for row in rows:
            table.add_row(*(_cell(row.get(c)) for c in columns))
        Console().print(table)
        return
    lines = ["\t".join(columns)]
    lines += ["\t".join(_cell(row.get(c)) for c in columns) for row in rows]
    click.echo("\n".join(lines))  # one write: echo flushes on every call


def _mapping(data: dict, title: str | None) -> None:
    if _is_tty():
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title, show_header=False)
        table.add_column("key", style="bold")
        table.add_column("value")
        for key, value in data.items():
            table.add_row(str(key), _cell(value))
        Console().print(table)
        return
    for key, value in data.items():
        click.echo(f"{key}\t{_cell(value)}")


#: One spelling per thing in every command's JSON: old spellings (the reference's shapes
#: use them) are kept, and the unified key is added beside them here, once for all.
KEPT_SPELLINGS = {"returncode": "exit_code"}


def unified_keys(data: Any) -> Any:
    """``data`` with the unified key beside every kept old spelling (nested too)."""
    if isinstance(data, list):
        return [unified_keys(item) for item in data]
    if not isinstance(data, dict):
        return data
    out = {k: unified_keys(v) for k, v in data.items()}
    for old, new in KEPT_SPELLINGS.items():
        if old in out and new not in out:
            out[new] = out[old]
    return out


def emit(
    result: Any,
    opts: Options,
    *,
    columns: list[str] | None = None,
    title: str | None = None,
    text: str | None = None,
    dry_run_commands: list[str] | None = None,
    stdout_taken: bool = False,
) -> None:
    """Print ``result``: JSON with ``--json``, else ``text`` or a table.

    ``stdout_taken``: an output file went to stdout (``-o -``), so the
    report goes to stderr and never mixes with it.
    """
    if stdout_taken:
        import contextlib

        with contextlib.redirect_stdout(sys.stderr):
            emit(
                result,
                opts,
                columns=columns,
                title=title,
                text=text,
                dry_run_commands=dry_run_commands,
            )
        return
    data = unified_keys(jsonable(result))
    if opts.json:
        if dry_run_commands is not None or opts.dry_run:  # one shape for every dry run
            data = {"dry_run": True, "result": data, "dry_run_commands": dry_run_commands or []}
        click.echo(dumps(data))
        return
    if dry_run_commands:
        click.echo("# dry run: these commands would run")
        for cmd in dry_run_commands:
            click.echo(cmd)
    if text is not None:
        click.echo(text)
    elif isinstance(data, list):
        if (data or columns) and all(isinstance(r, dict) for r in data):
            _rows_table(data, columns, title)  # an empty list still has its header
        elif data:
            for item in data:
                click.echo(_cell(item))
    elif isinstance(data, dict):
        _mapping(data, title)
    elif data is not None:
        click.echo(_cell(data))


# -- stderr messages ---------------------------------------------------------
# What ``-q`` silences, decided here only: every stderr line that is not an error, i.e.
# notes (``note: ...``, how a path was taken), warnings (``warning: ...``), progress and
# status lines.  Errors (``error: ...``, main.py) are never silenced, nor is stdout (the
# result), nor a report that goes to stderr because stdout carries an artifact (``-o -``).


def silenced(opts: Options | None = None) -> bool:
    """Does ``-q`` silence notes, warnings and progress in this invocation?"""
    if opts is None:
        ctx = click.get_current_context(silent=True)
        if ctx is None or not isinstance(ctx.find_root().obj, Options):
            return False
        opts = ctx.find_root().obj
    return opts.verbosity < 0


def info(message: str, opts: Options | None = None) -> None:
    """A progress or status message (stderr), silenced by ``-q``."""
    if not silenced(opts):
        click.echo(message, err=True)


def note(message: str, opts: Options | None = None) -> None:
    """``note: ...`` on stderr (what a path was taken for...), silenced by ``-q``."""
    info(f"note: {message}", opts)


def warn(message: str, opts: Options | None = None) -> None:
    """``warning: ...`` on stderr, silenced by ``-q`` (the exit code still tells)."""
    info(f"warning: {message}", opts)
