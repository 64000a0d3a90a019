"""`scitex-container cleanup`: remove old versions, keeping the newest N."""

from __future__ import annotations

import click

from scitex_container.cli.options import (
    cleanup_force_option,
    common_options,
    keep_option,
    store_argument,
)
from scitex_container.cli.store.report import open_stores, report_cleanup


@click.command()
@store_argument
@keep_option()
@cleanup_force_option
@common_options
def cleanup(store, keep, force) -> int:
    """Remove old versions; never the active, base or protected ones.

    A directory holding several images keeps KEEP versions of each.  Refused
    (exit 2) when the active version cannot be told, unless --force.
    """
    return report_cleanup(open_stores(store, changes=True), keep, force)
