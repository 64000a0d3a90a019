"""`scitex-container status`: each .def, its active image, whether it needs a rebuild."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.main import execute
from scitex_container.cli.options import EXISTING_DIR, TidyPath, common_options
from scitex_container.cli.output import emit
from scitex_container.errors import EXIT_BAD_INPUT


@click.command()
@click.argument("containers_dir", required=False, type=EXISTING_DIR)
@click.option(
    "-o",
    "--output-dir",
    type=TidyPath(file_okay=False),
    help="Where `build` put the images (default: CONTAINERS_DIR).",
)
@click.option(
    "--check",
    is_flag=True,
    help="Exit 1 when any image needs a rebuild or `build` would switch to a kept version.",
)
@common_options
def status(containers_dir, output_dir, check) -> int:
    """Show each .def, its active image and whether `build` would rebuild it.

    `switch_to` names a kept version built from the current inputs that is
    not active: `build` would make it active (through the site policy's
    `switch` gate) instead of rebuilding.

    A def `build` would refuse (not a regular file, over the size limit, a
    missing `%files` source...) shows action `refused` with build's own
    error, and status exits 2 as build does.

    Read-only: `--dry-run` changes nothing here.
    """
    from pathlib import Path

    from scitex_container.apptainer.building.decision import image_statuses
    from scitex_container.apptainer.store.naming import FLAT_SIF
    from scitex_container.cli.progress import hashing_progress
    from scitex_container.cli.store.report import say_empty

    if containers_dir is not None:  # an empty directory: the line every store command says
        say_empty(Path(containers_dir).absolute(), FLAT_SIF, changes=False)

    with hashing_progress(get_options(), "status"):
        rows, commands = execute(
            lambda: [s.row() for s in image_statuses(containers_dir, output_dir=output_dir)]
        )
    columns = ["name", "needs_rebuild", "action", "version", "sif_size", "sif_date", "sif_path"]
    columns.append("error")
    if any(r.get("stages_reused") for r in rows):
        columns.insert(4, "stages_reused")
    emit(rows, get_options(), columns=columns, title="images", dry_run_commands=commands)
    refused = [r for r in rows if r["action"] == "refused"]
    if refused:  # what `build` says of each, and its exit code
        if not get_options().json:
            for r in refused:
                click.echo(f"error: {r['error']}", err=True)
        return EXIT_BAD_INPUT
    pending = any(r["needs_rebuild"] or r["switch_to"] for r in rows)
    return 1 if check and pending else 0
