"""`scitex-container host check|install|mounts`: host packages bound into containers."""

from __future__ import annotations

import click

from scitex_container.cli.host.check import check
from scitex_container.cli.host.install import install
from scitex_container.cli.host.mounts import mounts
from scitex_container.cli.seed.help_recursive import group_option


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@group_option
def host() -> None:
    """Check, install and mount host packages (TeX Live, ImageMagick)."""


for _command in (check, install, mounts):
    host.add_command(_command)
