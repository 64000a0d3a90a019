"""`scitex-container sandbox cleanup DIR`: remove old sandboxes, keeping the newest N."""

from __future__ import annotations

import click

from scitex_container.cli.options import (
    cleanup_force_option,
    common_options,
    keep_option,
    sandbox_dir_argument,
)
from scitex_container.cli.store.report import open_store, report_cleanup


@click.command()
@sandbox_dir_argument
@keep_option("Sandboxes")
@cleanup_force_option
@common_options
def cleanup(directory, keep, force) -> int:
    """Remove old sandboxes; never the current or protected ones.

    Refused (exit 1) when the active version cannot be told, unless --force.
    """
    return report_cleanup(open_store(directory, sandbox=True, changes=True), keep, force)
