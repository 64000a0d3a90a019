"""`scitex-container lock freeze IMAGE`: requirements-lock.txt, dpkg-lock.txt, node-lock.txt."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.main import execute, pending_exit
from scitex_container.cli.options import EXISTING, TidyPath, common_options
from scitex_container.cli.output import emit, info


@click.command("freeze")
@click.argument("image", type=EXISTING)
@click.option(
    "-o",
    "--output-dir",
    type=TidyPath(file_okay=False),
    help="Directory for the lock files (default: beside the image).",
)
@common_options
def freeze_cmd(image: str, output_dir: str | None) -> int:
    """Write requirements-lock.txt, dpkg-lock.txt and node-lock.txt for IMAGE."""
    from scitex_container.apptainer.lock.capture import freeze

    opts = get_options()
    if output_dir is not None:  # a directory the caller cannot write in: refused by a dry run too
        from pathlib import Path

        from scitex_container.apptainer.store.access import require_writable

        require_writable(Path(output_dir))
    paths, commands = execute(lambda: freeze(image, output_dir))
    if not opts.json:
        verb = "would write" if commands is not None else "wrote"
        info(f"{verb} {len(paths)} lock files", opts)
    emit({k: str(v) for k, v in paths.items()}, opts, dry_run_commands=commands)
    return pending_exit(bool(paths))
