"""`scitex-container sandbox rollback DIR`: switch back to the previous sandbox."""

from __future__ import annotations

import click

from scitex_container.cli.options import common_options, sandbox_dir_argument, sudo_option
from scitex_container.cli.store.report import open_store, report_rollback


@click.command()
@sandbox_dir_argument
@sudo_option()
@common_options
def rollback(directory, use_sudo) -> int:
    """Switch back to the sandbox before the current one."""
    return report_rollback(open_store(directory, sandbox=True, changes=True), use_sudo)
