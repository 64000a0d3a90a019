"""`scitex-container sandbox list DIR`: the sandboxes in a store, newest first (read-only)."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.main import execute
from scitex_container.cli.options import common_options, sandbox_dir_argument
from scitex_container.cli.output import emit
from scitex_container.cli.store.report import open_store


@click.command("list")
@sandbox_dir_argument
@common_options
def list_(directory) -> int:
    """List the sandboxes in DIR, newest first."""
    st = open_store(directory, sandbox=True)
    rows, commands = execute(lambda: [r.row() for r in st.versions()])
    for row in rows:
        row.pop("size"), row.pop("size_bytes")
    emit(
        rows,
        get_options(),
        columns=["version", "active", "protected", "date", "path"],
        dry_run_commands=commands,
    )
    return 0
