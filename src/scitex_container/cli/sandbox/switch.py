"""`scitex-container sandbox switch VERSION DIR`: make a sandbox the current one."""

from __future__ import annotations

import os

import click

from scitex_container.cli.options import common_options, sandbox_dir_argument, sudo_option
from scitex_container.cli.store.report import open_store, report_switch


@click.command()
@click.argument("version")
@sandbox_dir_argument
@sudo_option()
@common_options
def switch(version, directory, use_sudo) -> int:
    """Make sandbox VERSION the current one (an atomic link switch).

    VERSION is the version, or the name or path `sandbox list` prints
    (`sandbox-20261206T224429Z`), as `switch` takes a SIF's file name.
    """
    from scitex_container.apptainer.store.opening import named_version

    st = open_store(directory, sandbox=True, changes=True)
    # a path names a version in this store only; a bare name is the one `list` shows
    named = named_version(version, st) if os.sep in version else st.scheme.version_of(version)
    return report_switch(st, named or version, use_sudo)
