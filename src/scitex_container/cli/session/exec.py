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

    The command's own output and exit status pass through (srun's report of
    a non-zero exit is not shown); with --json a final JSON line gives its
    exit status (`{"exit_code": N}`).  Our own failures have codes of their own: 127 COMMAND is
    not found in the container, 126 it cannot be run there (a directory,
    no permission), 125 we could not run it (no such session, the session
    is not running, srun, the node or the instance failed), with a one-line
    message (a one-line JSON error with --json); 2 a bad command line.
    """
    from scitex_container.apptainer.session import exec_in_session

    done, commands = execute(lambda: exec_in_session(session_id, list(command)))
    if commands is not None:
        emit({"exit_code": 0}, get_options(), text="", dry_run_commands=commands)
        return pending_exit(True)
    if get_options().json:  # one final line after the command's own output, as promised
        import json

        click.echo(json.dumps({"exit_code": done.returncode}, sort_keys=True))
    return done.returncode
