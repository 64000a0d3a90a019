"""`scitex-container sandbox ps1 DIR`: install the prompt snippet in a sandbox."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.main import execute, pending_exit
from scitex_container.cli.options import EXISTING_DIR, common_options
from scitex_container.cli.output import emit


@click.command()
@click.argument("sandbox_dir", type=EXISTING_DIR)
@click.option(
    "--default",
    "default_ps1",
    default=r"\W $ ",
    show_default=True,
    help="Prompt when $SCITEX_CLOUD_APPTAINER_PS1 is unset.",
)
@common_options
def ps1(sandbox_dir, default_ps1) -> int:
    """Install the prompt snippet (honours $SCITEX_CLOUD_APPTAINER_PS1)."""
    from scitex_container.apptainer.sandbox.maintenance import sandbox_configure_ps1

    _, commands = execute(lambda: sandbox_configure_ps1(sandbox_dir, default_ps1))
    emit(
        {"sandbox": sandbox_dir, "default_ps1": default_ps1},
        get_options(),
        text=f"{'would configure' if commands is not None else 'configured'} the prompt in "
        f"{sandbox_dir}",
        dry_run_commands=commands,
    )
    return pending_exit(True)
