"""`scitex-container session attach ID`: a login shell in a session."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.main import execute, pending_exit
from scitex_container.cli.options import common_options
from scitex_container.cli.output import emit


@click.command("attach")
@click.argument("session_id", metavar="SESSION")
@click.option("--pty/--no-pty", default=None, help="Use a terminal (default: when stdin is one).")
@common_options
def attach(session_id, pty) -> int:
    """Open a login shell in the session (reads commands from stdin when piped).

    Exits with the shell's status (srun's report of it is not shown); our
    own failures exit 125 (no such session, not running, srun, the node or
    the instance failed), as `session exec`'s do.
    """
    from scitex_container.apptainer.session import attach_session

    code, commands = execute(lambda: attach_session(session_id, pty=pty))
    if commands is not None:
        emit({"exit_code": 0}, get_options(), text="", dry_run_commands=commands)
        return pending_exit(True)
    if get_options().json:
        emit({"exit_code": code}, get_options())
    return code
