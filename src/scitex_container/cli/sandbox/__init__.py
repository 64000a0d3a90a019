"""`scitex-container sandbox ...`: create, maintain, update, convert and version sandboxes.

DIR is the directory holding ``sandbox-<timestamp>/`` versions and the
``current-sandbox`` link (or an image directory built with ``build --sandbox``).
One module per subcommand.
"""

from __future__ import annotations

import click

from scitex_container.cli.options import common_options
from scitex_container.cli.sandbox.cleanup import cleanup
from scitex_container.cli.sandbox.create import create
from scitex_container.cli.sandbox.list import list_
from scitex_container.cli.sandbox.maintain import maintain
from scitex_container.cli.sandbox.ps1 import ps1
from scitex_container.cli.sandbox.rollback import rollback
from scitex_container.cli.sandbox.switch import switch
from scitex_container.cli.sandbox.to_sif import to_sif
from scitex_container.cli.sandbox.update import update
from scitex_container.cli.seed.help_recursive import group_option


@click.group()
@group_option
@common_options
def sandbox() -> None:
    """Create, update, switch and convert sandboxes."""


for _command in (
    create,
    maintain,
    update,
    to_sif,
    ps1,
    list_,
    switch,
    rollback,
    cleanup,
):
    sandbox.add_command(_command)
