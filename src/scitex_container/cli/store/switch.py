"""`scitex-container switch`: make a version the active one (an atomic link switch)."""

from __future__ import annotations

import os

import click

from scitex_container.cli.options import common_options, store_argument, sudo_option
from scitex_container.cli.store.report import open_store, report_switch


@click.command()
@click.argument("version")
@store_argument
@sudo_option()
@common_options
def switch(version, store, use_sudo) -> int:
    """Make VERSION the active one (an atomic link switch).

    VERSION is the version (`20261206T140148Z`), or its file name or path as
    `versions` prints it; a path also names its store when STORE is not given.
    """
    from scitex_container.apptainer.store.opening import named_version
    from scitex_container.errors import BadInputError, NotFoundError

    as_path = os.sep in version or os.path.lexists(version)
    if store is None and as_path:
        store = version  # the version's own path names its store
    try:
        st = open_store(store, changes=True)
    except NotFoundError as exc:
        if store is not None:
            raise
        raise BadInputError(
            "not given, and there is no containers directory to default to"
            f" ({exc}); name the store: its directory, its active link or a version path",
            "STORE",
        ) from None
    named = named_version(version, st) if as_path else None
    if named is None and st.scheme.version_of(version) is not None:
        named = st.scheme.version_of(version)  # the file name `versions` shows
    return report_switch(st, named or version, use_sudo)
