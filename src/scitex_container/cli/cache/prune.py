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
@click.option("--older-than", metavar="AGE", help="Remove entries not used for AGE (e.g. 7d).")
@click.option("--all", "everything", is_flag=True, help="Remove every entry.")
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
            return {"removed": [], "freed": 0}
        cache.open(sweep=not opts.dry_run)  # a dry run changes nothing, leftovers included
        removed = cache.prune(older_than=age, everything=everything, dry_run=opts.dry_run)
        for note in cache.notes:
            warn(note)
        return {"removed": [e.key for e in removed], "freed": sum(e.size for e in removed)}

    result = run()
    verb = "would remove" if opts.dry_run else "removed"
    emit(result, opts, text=f"{verb} {len(result['removed'])} entries ({result['freed']} bytes)")
    return pending_exit(bool(result["removed"]))
