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
    text = f"stopped {record.id}"
    if commands is not None:
        text = f"would stop {record.id} and remove its record"
        if not commands:  # its job ended already: the real run only forgets it
            text = f"would remove the record of {record.id} (its job has ended)"
    emit(record, get_options(), text=text, dry_run_commands=commands)  # the record's one shape
    return pending_exit(True)
