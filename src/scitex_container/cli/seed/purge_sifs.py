"""`scitex-container sandbox purge-sifs`: the seed's removal of SIF versions and leftovers."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.main import execute, pending_exit
from scitex_container.cli.options import EXISTING_DIR, common_options
from scitex_container.cli.output import emit
from scitex_container.cli.seed.extend import yes_option


@click.command("purge-sifs")
@click.option(
    "-d",
    "--dir",
    "containers_dir",
    type=EXISTING_DIR,
    help="The directory of the SIF versions (default: here).",
)
@click.option(
    "-k",
    "--keep",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="SIF versions to keep (0: the active one and its link go too, as in the seed).",
)
@click.option("-y", "--yes", "seed_yes", is_flag=True, help=yes_option().help)
@common_options
def purge_sifs(containers_dir, keep, seed_yes) -> int:
    """Remove SIF versions and leftovers (*.sif.old, *.sif.backup.*), keeping the newest KEEP.

    Base images and versions with a keep marker always stay.
    """
    import os

    from scitex_container.reference.store_versions import cleanup_sifs

    removed, commands = execute(lambda: cleanup_sifs(containers_dir or os.getcwd(), keep))
    text = "\n".join(f"removed {p}" for p in removed) or "no SIF files to remove"
    emit([str(p) for p in removed], get_options(), text=text, dry_run_commands=commands)
    return pending_exit(bool(removed))
