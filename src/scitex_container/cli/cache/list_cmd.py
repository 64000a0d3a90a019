"""`scitex-container cache list`: the entries of the stage cache, least recently used first,
then what killed builds left (``kind`` ``leftover``).  It reads only: nothing is made,
swept or locked."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.main import execute
from scitex_container.cli.options import TidyPath, json_option
from scitex_container.cli.output import emit, warn


@click.command("list")
@click.option(
    "--cache-dir",
    type=TidyPath(file_okay=False),
    help="The stage cache directory (default: per user, under the XDG cache dir).",
)
@json_option
def list_cmd(cache_dir) -> int:
    """List the cached stages (key, stage, age, size, last use, network) and the leftovers
    of killed builds (stage: their state).  With --json `size` is said as `versions` says
    it (`1.0 MB`) and `size_bytes` is the number of bytes."""
    import time

    from scitex_container.apptainer.cache import stuck
    from scitex_container.apptainer.cache.entries import StageCache
    from scitex_container.apptainer.store.naming import human_size

    opts = get_options()

    cache = StageCache(cache_dir)

    def rows() -> list[dict]:
        if not cache.exists():
            return []
        cache.open(create=False, sweep=False)  # refuses a directory we cannot trust
        now = time.time()
        out = [
            {
                "kind": "entry",
                "key": e.key,
                "stage": e.stage,
                "age_seconds": round(e.age(now), 1),
                "size": human_size(e.size),
                "size_bytes": e.size,
                "last_used": round(now - e.used, 1),
                "network": e.network,
                "path": str(e.rootfs),
            }
            for e in cache.entries()
        ]
        out += [
            {
                "kind": "leftover",
                "key": x.key,
                "stage": f"leftover ({x.state})",
                "age_seconds": round(x.age(now), 1),
                "size": human_size(x.size),
                "size_bytes": x.size,
                "last_used": round(x.age(now), 1),
                "network": None,
                "path": str(x.path),
                "removable": x.removable(now),
            }
            for x in cache.leftovers()
        ]
        out += [
            {
                "kind": "unremovable",
                "key": x.path.name,
                "stage": "unremovable (prune --all retries)",
                "age_seconds": round(now - x.mtime, 1),
                "size": human_size(x.size),
                "size_bytes": x.size,
                "last_used": round(now - x.mtime, 1),
                "network": None,
                "path": str(x.path),
                "removable": False,
            }
            for x in stuck.scan(cache.stuck_dir)
        ]
        return out

    result, _ = execute(rows)
    for note in cache.notes:
        warn(note)
    emit(result, opts, columns=["key", "stage", "age_seconds", "size", "last_used", "network"])
    return 0
