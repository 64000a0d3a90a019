"""`scitex-container session list`: your sessions with job id, instance, state and node."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.options import common_options
from scitex_container.cli.output import emit

LIST_COLUMNS = ["id", "backend", "job_id", "instance", "state", "node", "project", "reason"]


@click.command("list")
@common_options
def list_() -> None:
    """List your sessions with job id, instance, state and node.

    An `ended` session's reason comes from SLURM's record of its job (time
    limit, node failure, cancelled, completed, with the exit code), kept once
    read; without one it says "reason unknown (no SLURM record)".
    """
    from scitex_container.apptainer.session import list_sessions

    emit(list_sessions(), get_options(), columns=LIST_COLUMNS, title="sessions")
