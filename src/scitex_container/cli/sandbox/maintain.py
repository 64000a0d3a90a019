"""`scitex-container sandbox maintain DIR COMMAND...`: run a command writable inside a sandbox."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.main import execute, pending_exit
from scitex_container.cli.options import EXISTING_DIR, common_options, fakeroot_option
from scitex_container.cli.output import emit


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("sandbox_dir", type=EXISTING_DIR)
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@fakeroot_option
@common_options
def maintain(sandbox_dir, command, fakeroot) -> int:
    """Run COMMAND inside SANDBOX_DIR with --writable (and --fakeroot)."""
    from scitex_container.apptainer.sandbox.maintenance import sandbox_maintain

    code, commands = execute(
        lambda: sandbox_maintain(sandbox_dir, list(command), fakeroot=fakeroot)
    )
    if commands is not None or get_options().json:
        emit({"exit_code": code}, get_options(), text="", dry_run_commands=commands)
    return pending_exit(True) if commands is not None else code
