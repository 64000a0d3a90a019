"""`scitex-container sandbox create SOURCE`: build a sandbox and make it current."""

from __future__ import annotations

import os

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.main import execute, pending_exit
from scitex_container.cli.options import EXISTING, TidyPath, common_options, fakeroot_option
from scitex_container.cli.output import emit


@click.command()
@click.argument("source", type=EXISTING)
@click.option(
    "--dir",
    "containers_dir",
    type=TidyPath(file_okay=False),
    help="Store directory (default: SOURCE's directory).",
)
@click.option("-d", "containers_dir_d", type=TidyPath(file_okay=False), hidden=True)  # old --dir
@click.option(
    "-o",
    "--output",
    "output_dir",
    type=TidyPath(),
    help="Build exactly here instead (no versioning).",
)
@click.option(
    "--force",
    is_flag=True,
    help="The seed's force: accepted; an existing --output is still refused (never overwritten).",
)
@fakeroot_option
@common_options
def create(source, containers_dir, containers_dir_d, output_dir, force, fakeroot) -> int:
    """Build a sandbox from SOURCE (a .def, a .sif or a sandbox) and make it current."""
    containers_dir = containers_dir or containers_dir_d
    if output_dir is not None and os.path.lexists(output_dir):
        from scitex_container.errors import BadInputError

        said = " (--force does not overwrite)" if force else ""
        raise BadInputError(f"`{output_dir}` already exists: give a new path{said}", "--output")
    from scitex_container.apptainer.sandbox.create import sandbox_create

    path, commands = execute(
        lambda: sandbox_create(source, containers_dir, output_dir=output_dir, fakeroot=fakeroot)
    )
    emit(
        {"path": str(path)},
        get_options(),
        text=f"{'would create' if commands is not None else 'created'} {path}",
        dry_run_commands=commands,
    )
    return pending_exit(True)
