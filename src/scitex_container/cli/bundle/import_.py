"""`scitex-container bundle import`: check every member of a bundle, then publish it."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.main import execute, pending_exit
from scitex_container.cli.options import TidyPath, common_options
from scitex_container.cli.output import emit


@click.command("import")
@click.argument("bundle_file", metavar="BUNDLE", type=TidyPath(exists=True, allow_dash=True))
@click.option(
    "-o",
    "--output-dir",
    required=True,
    type=TidyPath(file_okay=False),
    help="Directory the image's store is in (OUTPUT_DIR/NAME/, as `build -o`).",
)
@click.option("--archive", type=TidyPath(file_okay=False), help="Add the artifacts here.")
@click.option("--name", help="Image name (default: the one in the bundle).")
@common_options
def import_(bundle_file, output_dir, archive, name) -> int:
    """Import BUNDLE (`-`: stdin) into a store as the active version, after checking every member.

    A changed byte, a missing or an extra member is refused naming the
    member; the image's proof and the site policy (steps `import` and
    `switch`) are checked before anything is published.
    """
    from scitex_container.apptainer.transfer.bundle_import import import_bundle

    if output_dir is not None:  # a directory the caller cannot write in: refused by a dry run too
        from pathlib import Path

        from scitex_container.apptainer.store.access import require_writable

        require_writable(Path(output_dir))
    result, commands = execute(
        lambda: import_bundle(bundle_file, output_dir, archive=archive, name=name)
    )
    arrival = result.arrival
    if commands is not None:
        text = f"would import {bundle_file}" if not arrival.reused else f"unchanged {arrival.path}"
    else:
        verb = "unchanged" if arrival.reused else "imported"
        text = f"{verb} {arrival.path}"
        if result.artifacts_added:
            text += f"\n{result.artifacts_added} artifacts in {archive}"
        if result.artifacts_skipped:
            text += f"\n{result.artifacts_skipped} artifacts not kept (give --archive DIR)"
    emit(result, get_options(), text=text, dry_run_commands=commands)
    return pending_exit(commands is not None and not arrival.reused)
