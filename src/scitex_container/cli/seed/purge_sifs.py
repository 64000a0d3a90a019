"""`scitex-container sandbox purge-sifs`: the seed's removal of SIF versions and leftovers."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.main import execute, pending_exit
from scitex_container.cli.options import StorePath, common_options, store_argument
from scitex_container.cli.output import emit
from scitex_container.cli.seed.extend import yes_option


@click.command("purge-sifs")
@store_argument
@click.option(
    "-d",
    "--dir",
    "containers_dir",
    type=StorePath(),
    help="The seed's spelling of STORE (default: here).",
)
@click.option(
    "-k",
    "--keep",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Newest SIF versions to keep (0, the seed's meaning of purge-sifs: everything"
    " listed goes; `cleanup` keeps 3).",
)
@click.option("-y", "--yes", "seed_yes", is_flag=True, help=yes_option().help)
@common_options
def purge_sifs(store, containers_dir, keep, seed_yes) -> int:
    """Remove *.sif, *.sif.old, *.sif.backup.* and current.sif, keeping the newest KEEP.

    STORE (or -d) is the store directory, its active link or one of its
    versions, as for every store command.

    With --keep 0 everything listed goes (base images too); with more, the
    active version, base images and the link to a kept version stay.
    Versions with a keep marker always stay.  Run with --dry-run first: it
    lists every path that would go (exit 1 when there is any).
    """
    import os

    from scitex_container.cli.store.report import open_store
    from scitex_container.reference.store_versions import cleanup_sifs

    if store is not None and containers_dir is not None and store != containers_dir:
        raise click.UsageError("give STORE or -d/--dir, not both")
    where = open_store(
        store or containers_dir or os.getcwd(), changes=True
    ).dir  # an empty dir: refused
    removed, commands = execute(lambda: cleanup_sifs(where, keep))
    verb = "would remove" if get_options().dry_run else "removed"
    text = "\n".join(f"{verb} {p}" for p in removed) or "no SIF files to remove"
    emit([str(p) for p in removed], get_options(), text=text, dry_run_commands=commands)
    return pending_exit(bool(removed))
