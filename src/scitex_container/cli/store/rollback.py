"""`scitex-container rollback`: switch back to the version before the active one."""

from __future__ import annotations

import click

from scitex_container.cli.options import common_options, store_argument, sudo_option
from scitex_container.cli.store.report import open_store, report_rollback


@click.command()
@store_argument
@sudo_option()
@common_options
def rollback(store, use_sudo) -> int:
    """Switch back to the version before the active one (in version order)."""
    return report_rollback(open_store(store, changes=True), use_sudo)
