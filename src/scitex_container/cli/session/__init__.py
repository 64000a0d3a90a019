"""`scitex-container session start|list|exec|attach|stop`: container sessions, one module each."""

from __future__ import annotations

import click

from scitex_container.cli.seed.help_recursive import group_option
from scitex_container.cli.session.attach import attach
from scitex_container.cli.session.exec import exec_
from scitex_container.cli.session.list import list_
from scitex_container.cli.session.start import start
from scitex_container.cli.session.stop import stop


@click.group()
@group_option
def session() -> None:
    """Start, list, attach to and stop container sessions (SLURM, or this host)."""


for _command in (start, list_, exec_, attach, stop):
    session.add_command(_command)
