"""`scitex-container bundle export`: one file holding an image, its proof and artifacts."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.main import execute, pending_exit
from scitex_container.cli.options import (
    EXISTING,
    EXISTING_DIR,
    EXISTING_FILE,
    TidyPath,
    common_options,
)
from scitex_container.cli.output import emit


@click.command()
@click.argument("source", type=EXISTING)
@click.option(
    "-o",
    "--output",
    required=True,
    type=TidyPath(dir_okay=False, allow_dash=True),
    help="Bundle file (`-`: stdout; a device or FIFO is written through).",
)
@click.option(
    "--archive",
    type=EXISTING_DIR,
    help="Artifact archive: add exactly the artifacts the image's lock names.",
)
@click.option("--key", type=EXISTING_FILE, help="PEM private key that signs the bundle's manifest.")
@common_options
def export(source, output, archive, key) -> int:
    """Write SOURCE (a SIF, or a store's active version) with its lock, statement and SBOM.

    Every member is listed with its sha256 in the bundle's manifest; with
    --key the manifest is signed, which a site whose policy gates `import`
    requires when the bundle carries a lock or artifacts.
    """
    from scitex_container.apptainer.transfer.bundle_export import export_bundle
    from scitex_container.errors import BadInputError

    opts = get_options()
    if output == "-" and opts.json:
        raise BadInputError("`-o -` writes the bundle to stdout; --json would too", "--json")
    if output not in (None, "-"):  # an output the caller cannot write: refused by a dry run too
        from scitex_container.files.fsutil import check_output

        check_output(output)
    result, commands = execute(lambda: export_bundle(source, output, archive=archive, key=key))
    verb = "would write" if commands is not None else "wrote"
    signed = f", manifest signed by {result.signed_manifest}" if result.signed_manifest else ""
    text = (
        f"{verb} {result.bundle}: {len(result.members)} members "
        f"({result.artifact_count} artifacts){signed}"
    )
    if output == "-" and commands is None:
        click.echo(text, err=True)  # stdout carries the bundle
    else:
        emit(result, opts, text=text, dry_run_commands=commands)
    return pending_exit(commands is not None)
