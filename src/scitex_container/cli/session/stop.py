"""`scitex-container session stop ID`: stop a session's instance and end its job."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.main import execute, pending_exit
from scitex_container.cli.options import common_options
from scitex_container.cli.output import emit


@click.command("stop")
@click.argument("session_id", metavar="SESSION")
@common_options
def stop(session_id) -> int:
    """Stop the session's instance and end its job."""
    from scitex_container.apptainer.session import stop_session

    record, commands = execute(lambda: stop_session(session_id))
    verb = "would stop" if commands is not None else "stopped"
    data = {**record.to_dict(), "project": record.project_slug}  # as `session list` says it
    emit(data, get_options(), text=f"{verb} {record.id}", dry_run_commands=commands)
    return pending_exit(True)
