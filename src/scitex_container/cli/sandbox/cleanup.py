"""`scitex-container sandbox cleanup DIR`: remove old sandboxes, keeping the newest N."""

from __future__ import annotations

import click

from scitex_container.cli.options import common_options, keep_option, sandbox_dir_argument
from scitex_container.cli.store.report import open_store, report_cleanup


@click.command()
@sandbox_dir_argument
@keep_option(5, "Sandboxes")
@common_options
def cleanup(directory, keep) -> int:
    """Remove old sandboxes; never the current or protected ones."""
    return report_cleanup(open_store(directory, sandbox=True), keep)
