"""`scitex-container lock`: capture, compare, freeze and pin package locks (one module each)."""

from __future__ import annotations

import click

from scitex_container.cli.lock.archive import archive
from scitex_container.cli.lock.capture import capture
from scitex_container.cli.lock.diff import diff
from scitex_container.cli.lock.freeze import freeze_cmd
from scitex_container.cli.lock.pin import pin
from scitex_container.cli.seed.help_recursive import group_option


@click.group()
@group_option
def lock() -> None:
    """Capture, pin and compare package locks."""


for _command in (capture, diff, freeze_cmd, pin, archive):
    lock.add_command(_command)
