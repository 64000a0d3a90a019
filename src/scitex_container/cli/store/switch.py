"""`scitex-container switch`: make a version the active one (an atomic link switch)."""

from __future__ import annotations

import click

from scitex_container.cli.options import common_options, store_argument, sudo_option
from scitex_container.cli.store.report import open_store, report_switch


@click.command()
@click.argument("version")
@store_argument
@sudo_option()
@common_options
def switch(version, store, use_sudo) -> int:
    """Make VERSION the active one (an atomic link switch)."""
    return report_switch(open_store(store), version, use_sudo)
