"""`scitex-container sandbox to-sif DIR OUT.sif`: convert a sandbox into a SIF (atomically)."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.main import execute, pending_exit
from scitex_container.cli.options import EXISTING_DIR, EXISTING_FILE, TidyPath, common_options
from scitex_container.cli.output import emit


@click.command("to-sif")
@click.argument("sandbox_dir", type=EXISTING_DIR)
@click.argument("output_sif", type=TidyPath(dir_okay=False))
@click.option("--sign", "key", type=EXISTING_FILE, help="Sign it with this PEM key.")
@common_options
def to_sif(sandbox_dir, output_sif, key) -> int:
    """Convert SANDBOX_DIR into the SIF image OUTPUT_SIF (atomically).

    When OUTPUT_SIF is the active link of an image store, the SIF becomes a
    new version of that store and the link points at it.
    """
    from scitex_container.apptainer.sandbox.maintenance import sandbox_to_sif

    path, commands = execute(lambda: sandbox_to_sif(sandbox_dir, output_sif, sign_key=key))
    verb = "would write" if commands is not None else "wrote"
    emit({"path": str(path)}, get_options(), text=f"{verb} {path}", dry_run_commands=commands)
    return pending_exit(True)
