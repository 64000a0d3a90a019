"""`scitex-container docker ...`: drive a Docker Compose stack with whichever engine works.

One module per subcommand; the options that choose the stack are in :mod:`.stack`.
"""

from __future__ import annotations

import click

from scitex_container.cli.docker.down import down
from scitex_container.cli.docker.logs import logs
from scitex_container.cli.docker.rebuild import rebuild
from scitex_container.cli.docker.restart import restart
from scitex_container.cli.docker.status import status
from scitex_container.cli.docker.up import up
from scitex_container.cli.seed.help_recursive import group_option


@click.group()
@group_option
def docker() -> None:
    """Drive a Docker Compose stack (docker compose, docker-compose or podman-compose)."""


for _command in (rebuild, restart, up, down, status, logs):
    docker.add_command(_command)
