"""`scitex-container versions`: list an image's versions; add or remove keep markers."""

from __future__ import annotations

from pathlib import Path

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.main import execute, pending_exit
from scitex_container.cli.options import common_options, store_argument
from scitex_container.cli.output import emit, warn
from scitex_container.cli.store.report import VERSION_COLUMNS, open_stores


@click.command()
@store_argument
@click.option(
    "--protect",
    "protect",
    metavar="VERSION",
    help="Add a keep marker to VERSION (cleanup never removes it).",
)
@click.option(
    "--unprotect", "unprotect", metavar="VERSION", help="Remove the keep marker of VERSION."
)
@common_options
def versions(store, protect, unprotect) -> int:
    """List the versions of an image, newest first.

    A directory holding several images (a deploy target) lists every image.
    """
    stores = open_stores(store, changes=bool(protect or unprotect))
    if len(stores) > 1:
        if protect or unprotect:
            from scitex_container.errors import BadInputError

            links = ", ".join(str(s.link) for s in stores)
            raise BadInputError(
                f"holds {len(stores)} images: name one by its link ({links})",
                str(stores[0].dir if store is None else Path(store).absolute()),
            )
        return _list_all(stores)
    st = stores[0]
    pending = (protect is not None and not st.get(protect).protected) or (
        unprotect is not None and st.get(unprotect).protected
    )

    def action():
        if protect:
            st.protect(protect, True)
        if unprotect:
            st.protect(unprotect, False)
        return [row.row() for row in st.versions()]

    rows, commands = execute(action)
    if commands is not None:  # the table the real run would print
        marks = {protect: True, unprotect: False}
        rows = [{**r, "protected": marks.get(r["version"], r["protected"])} for r in rows]
    if problem := st.link_problem():
        warn(problem)
    opts = get_options()
    if (protect or unprotect) and not opts.json:  # say what was (or would be) done
        version = protect or unprotect
        word = "protect" if protect else "unprotect"
        if commands is not None:  # the dry run's line, not a table already showing it done
            said = f"would {word} {version}" if pending else f"{version}: already {word}ed"
            click.echo(said + ("" if pending else ", nothing to do"))
            return pending_exit(pending)
        click.echo(f"{word}ed {version}" if pending else f"{version}: already {word}ed")
    emit(rows, opts, columns=VERSION_COLUMNS, title=str(st.dir), dry_run_commands=commands)
    return pending_exit(pending)


def _list_all(stores) -> int:
    """One table (one JSON list) of every image's versions, with an ``image`` column."""
    rows: list[dict] = []
    for st in stores:
        image = st.scheme.active.removesuffix(".sif")
        rows += [{"image": image, **row.row()} for row in st.versions()]
        if problem := st.link_problem():
            warn(problem)
    columns = ["image", *VERSION_COLUMNS]
    emit(rows, get_options(), columns=columns, title=str(stores[0].dir))
    return 0
