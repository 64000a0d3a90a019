"""`scitex-container list`: the seed's name of `versions`, printing the seed's shape.

With ``--json`` the seed printed ``{containers_dir, active, versions}``
(``versions`` as the reference's ``list_versions`` rows), not a bare list;
so does this alias.  The store is the one every command means by default
(:func:`~scitex_container.apptainer.store.implied.implied_store`).
"""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.options import TidyPath, common_options
from scitex_container.cli.output import emit
from scitex_container.errors import ScitexError


@click.command("list")
@click.argument("store", required=False, type=TidyPath())
@click.option(
    "-d", "--dir", "seed_dir", type=TidyPath(), help="The seed's spelling of the STORE argument."
)
@common_options
def list_(store: str | None, seed_dir: str | None) -> int:
    """Alias of `versions` (the seed's name).  List the versions of the store, newest first.

    With --json: the seed's {containers_dir, active, versions}; an error
    keeps the seed's `versions: []` beside our error keys.  STORE (or
    -d DIR): the store or containers directory (default: the containers
    directory found as for build).
    """
    from scitex_container.apptainer.deffile.lookup import find_containers_dir
    from scitex_container.apptainer.store.implied import implied_store
    from scitex_container.cli.seed.extend import one_of
    from scitex_container.cli.store.report import VERSION_COLUMNS

    given = one_of({"store": store, "seed_dir": seed_dir}, "store", "seed_dir")
    try:
        location = given if given else find_containers_dir()
        chosen = implied_store("STORE", location)
    except ScitexError as exc:  # the seed's error shape keeps its (empty) `versions`
        exc.details = {**(getattr(exc, "details", None) or {}), "versions": []}  # type: ignore[attr-defined]
        raise
    from scitex_container.cli.store.report import say_empty

    say_empty(chosen.dir, chosen.scheme, changes=False)
    rows = [row.row() for row in chosen.versions()]
    opts = get_options()
    if opts.json:
        data = {
            "containers_dir": str(location),
            "active": chosen.active_version(),
            "versions": rows,
        }
        emit(data, opts)
    else:
        emit(rows, opts, columns=VERSION_COLUMNS, title=str(chosen.dir))
    return 0
