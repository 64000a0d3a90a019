"""`scitex-container session exec ID COMMAND...`: run a command inside a session."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.main import execute, pending_exit
from scitex_container.cli.options import common_options
from scitex_container.cli.output import emit


@click.command("exec", context_settings={"ignore_unknown_options": True})
@click.argument("session_id", metavar="SESSION")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@common_options
def exec_(session_id, command) -> int:
    """Run COMMAND inside the session (use `--` before options of COMMAND).

    The command's own output passes through; with --json a final JSON line
    gives its return code.
    """
    from scitex_container.apptainer.session import exec_in_session

    done, commands = execute(lambda: exec_in_session(session_id, list(command)))
    if commands is not None:
        emit({"returncode": 0}, get_options(), text="", dry_run_commands=commands)
        return pending_exit(True)
    if get_options().json:  # one final line after the command's own output, as promised
        import json

        click.echo(json.dumps({"returncode": done.returncode}, sort_keys=True))
    return done.returncode
