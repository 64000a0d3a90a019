"""`scitex-container sandbox switch VERSION DIR`: make a sandbox the current one."""

from __future__ import annotations

import click

from scitex_container.cli.options import common_options, sandbox_dir_argument, sudo_option
from scitex_container.cli.store.report import open_store, report_switch


@click.command()
@click.argument("version")
@sandbox_dir_argument
@sudo_option()
@common_options
def switch(version, directory, use_sudo) -> int:
    """Make sandbox VERSION the current one (an atomic link switch)."""
    return report_switch(open_store(directory, sandbox=True), version, use_sudo)
