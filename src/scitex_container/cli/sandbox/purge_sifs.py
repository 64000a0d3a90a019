"""`scitex-container sandbox purge-sifs DIR`: remove SIF files and leftovers (cleanup_sifs).

What goes is what the reference's ``cleanup_sifs`` lists: ``*.sif`` files,
``*.sif.old``, ``*.sif.backup.*`` and the ``current.sif`` link of DIR, all
but the ``--keep`` newest versions.  ``--dry-run`` lists every path that
would be removed (exit 1 when there is any) and removes nothing: run it
first.
"""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.main import execute, pending_exit
from scitex_container.cli.options import EXISTING, common_options
from scitex_container.cli.output import emit


@click.command("purge-sifs")
@click.argument("directory", required=False, type=EXISTING)
@click.option(
    "-k",
    "--keep",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Newest versioned SIFs to keep (with 0, everything the list names goes).",
)
@common_options
def purge_sifs(directory, keep) -> int:
    """Remove *.sif, *.sif.old, *.sif.backup.* and current.sif (see --dry-run first)."""
    from scitex_container.apptainer.deffile.lookup import find_containers_dir
    from scitex_container.reference.store_versions import cleanup_sifs

    target = directory if directory is not None else find_containers_dir()
    removed, commands = execute(lambda: cleanup_sifs(target, keep))
    opts = get_options()
    verb = "would remove" if opts.dry_run else "removed"
    text = "\n".join(f"{verb} {p}" for p in removed) or "nothing to remove"
    emit({"removed": [str(p) for p in removed]}, opts, text=text, dry_run_commands=commands)
    return pending_exit(bool(removed))
