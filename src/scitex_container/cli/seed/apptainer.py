"""`scitex-container apptainer ...`: the seed's group of its image commands, each one of ours."""

from __future__ import annotations

import click

from scitex_container.cli.seed.apply import alias
from scitex_container.cli.seed.list import list_


@click.group()
def apptainer() -> None:
    """The seed's `apptainer` group of image commands, each an alias of ours."""


for _name, _ours in (
    ("build", "build"),
    ("freeze", "lock freeze"),
    ("switch", "switch"),
    ("rollback", "rollback"),
    ("deploy", "deploy"),
    ("clean", "cleanup"),
    ("verify", "verify"),
):
    apptainer.add_command(alias(_name, _ours))

apptainer.add_command(list_)  # the seed's shape of `list --json`
