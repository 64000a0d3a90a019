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
    from scitex_container.apptainer.cache.entries import StageCache, parse_age
    from scitex_container.errors import BadInputError

    opts = get_options()

    def run() -> dict:
        if not everything and older_than is None:
            raise BadInputError("say what to remove: --older-than AGE or --all", "cache prune")
        age = parse_age(older_than, "--older-than") if older_than is not None else None
        cache = StageCache(cache_dir)
        if not cache.exists():
            return {"removed": [], "leftovers": [], "freed": 0}
        # a dry run makes nothing (no tmp/, no .lock) and sweeps nothing
        cache.open(sweep=not opts.dry_run, create=not opts.dry_run)
        dry = opts.dry_run
        removed = cache.prune(older_than=age, everything=everything, dry_run=dry)
        left = cache.prune_leftovers(older_than=age, everything=everything, dry_run=dry)
        for note in cache.notes:
            warn(note)
        return {
            "removed": [e.key for e in removed],
            "leftovers": [str(x.path) for x in left],
            "freed": sum(e.size for e in removed) + sum(x.size for x in left),
        }

    result = run()
    verb = "would remove" if opts.dry_run else "removed"
    said = f"{verb} {len(result['removed'])} entries"
    if result["leftovers"]:
        said += f" and {len(result['leftovers'])} leftovers of killed builds"
    emit(result, opts, text=f"{said} ({result['freed']} bytes)")
    return pending_exit(bool(result["removed"] or result["leftovers"]))
