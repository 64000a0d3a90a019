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
    help="Newest SIF versions to keep (0: everything listed goes, as in the seed).",
)
@click.option("-y", "--yes", "seed_yes", is_flag=True, help=yes_option().help)
@common_options
def purge_sifs(containers_dir, keep, seed_yes) -> int:
    """Remove *.sif, *.sif.old, *.sif.backup.* and current.sif, keeping the newest KEEP.

    With --keep 0 everything listed goes (base images too); with more, the
    active version, base images and the link to a kept version stay.
    Versions with a keep marker always stay.  Run with --dry-run first: it
    lists every path that would go (exit 1 when there is any).
    """
    import os

    from scitex_container.reference.store_versions import cleanup_sifs

    removed, commands = execute(lambda: cleanup_sifs(containers_dir or os.getcwd(), keep))
    verb = "would remove" if get_options().dry_run else "removed"
    text = "\n".join(f"{verb} {p}" for p in removed) or "no SIF files to remove"
    emit([str(p) for p in removed], get_options(), text=text, dry_run_commands=commands)
    return pending_exit(bool(removed))
