"""`scitex-container pull`: fetch a version from an OCI registry, checked on arrival."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.main import execute, pending_exit
from scitex_container.cli.options import TidyPath, common_options, plain_http_option
from scitex_container.cli.output import emit


@click.command()
@click.argument("source")
@click.option(
    "-o",
    "--output-dir",
    required=True,
    type=TidyPath(file_okay=False),
    help="Directory the image's store is in (OUTPUT_DIR/NAME/, as `build -o`).",
)
@click.option("--name", help="Image name (default: the repository's last component).")
@plain_http_option()
@common_options
def pull(source, output_dir, name, plain_http) -> int:
    """Pull SOURCE (oras://REGISTRY/NAME:TAG or @sha256:...) into a store as the active version.

    The image's sha256, its attached proof (checked against the signed copies
    inside the SIF) and the site policy (steps `pull` and `switch`) are
    checked before anything becomes a version.  Pulling a digest the store
    already keeps copies nothing.
    """
    from scitex_container.apptainer.transfer.pull import pull_image

    if output_dir is not None:  # a directory the caller cannot write in: refused by a dry run too
        from pathlib import Path

        from scitex_container.apptainer.store.access import require_writable

        require_writable(Path(output_dir))
    result, commands = execute(
        lambda: pull_image(source, output_dir, name=name, plain_http=plain_http)
    )
    if commands is not None:
        text = f"would pull {source}" if not result.reused else f"unchanged {result.path}"
    else:
        verb = "unchanged" if result.reused else "pulled"
        text = f"{verb} {result.path} ({result.origin.get('manifest_digest')})"
    emit(result, get_options(), text=text, dry_run_commands=commands)
    return pending_exit(commands is not None and not result.reused)
