"""`scitex-container cache prune`: remove stage cache entries (old ones, or all)."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.main import pending_exit
from scitex_container.cli.options import TidyPath, common_options
from scitex_container.cli.output import emit, warn


@click.command()
@click.option(
    "--cache-dir",
    type=TidyPath(file_okay=False),
    help="The stage cache directory (default: per user, under the XDG cache dir).",
)
@click.option(
    "--older-than",
    metavar="AGE",
    help="Remove entries not used (and leftovers not touched) for AGE (e.g. 7d).",
)
@click.option(
    "--all", "everything", is_flag=True, help="Remove every entry and removable leftover."
)
@common_options
def prune(cache_dir, older_than, everything) -> int:
    """Remove entries not used for AGE (--older-than), or every entry (--all)."""
    from scitex_container.apptainer.cache import stuck
    from scitex_container.apptainer.cache.entries import StageCache, parse_age
    from scitex_container.errors import BadInputError

    opts = get_options()

    def run() -> dict:
        if not everything and older_than is None:
            raise BadInputError("say what to remove: --older-than AGE or --all", "cache prune")
        age = parse_age(older_than, "--older-than") if older_than is not None else None
        cache = StageCache(cache_dir)
        if not cache.exists():
            return _said([], [], [], 0)
        # a dry run makes nothing (no tmp/, no .lock); the sweep a build would make is
        # part of prune_leftovers, so it is counted, dry run or not
        cache.open(sweep=False, create=not opts.dry_run)
        dry = opts.dry_run
        removed = cache.prune(older_than=age, everything=everything, dry_run=dry)
        left = cache.prune_leftovers(older_than=age, everything=everything, dry_run=dry)
        stuck_gone, stuck_notes = (
            stuck.retry(cache.stuck_dir, dry_run=dry) if everything else ([], [])
        )
        for note in (*cache.notes, *stuck_notes):
            warn(note)
        return _said(
            [e.key for e in removed],
            [str(x.path) for x in left],
            [str(x.path) for x in stuck_gone],
            sum(e.size for e in removed)
            + sum(x.size for x in left)
            + sum(x.size for x in stuck_gone),
        )

    result = run()
    verb = "would remove" if opts.dry_run else "removed"
    said = f"{verb} {len(result['removed'])} entries"
    if result["leftovers"]:
        said += f" and {len(result['leftovers'])} leftovers of killed builds"
    if result["unremovable"]:
        said += f" and {len(result['unremovable'])} unremovable left earlier"
    emit(result, opts, text=f"{said} ({result['freed_size_bytes']} bytes)")
    return pending_exit(bool(result["removed"] or result["leftovers"] or result["unremovable"]))


def _said(removed: list, leftovers: list, unremovable: list, freed: int) -> dict:
    """The JSON shape: sizes as every command says them (`*size` human, `*size_bytes`)."""
    from scitex_container.apptainer.store.naming import human_size

    return {
        "removed": removed,
        "leftovers": leftovers,
        "unremovable": unremovable,
        "freed_size": human_size(freed),
        "freed_size_bytes": freed,
    }
