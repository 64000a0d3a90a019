"""`scitex-container bundle`: signed bundles for air-gapped sites."""

from __future__ import annotations

import click

from scitex_container.cli.bundle.export import export
from scitex_container.cli.bundle.import_ import import_
from scitex_container.cli.seed.help_recursive import group_option


@click.group()
@group_option
def bundle() -> None:
    """Export an image with its proof (and artifacts) to one file; import it elsewhere."""


bundle.add_command(export)
bundle.add_command(import_)
