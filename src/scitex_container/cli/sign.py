"""`scitex-container sign`: sign an image (all objects, the build statement included)."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.main import execute, pending_exit
from scitex_container.cli.options import TidyPath, common_options
from scitex_container.cli.output import emit


@click.command()
@click.argument("image", type=TidyPath())
@click.option("--key", "key", required=True, type=TidyPath(dir_okay=False), help="PEM private key.")
@common_options
def sign(image: str, key: str) -> int:
    """Sign IMAGE with KEY; a store version's digest is re-recorded (history kept)."""
    from scitex_container.apptainer.signing.sign_path import sign_image

    opts = get_options()
    result, commands = execute(lambda: sign_image(image, key))
    if commands is not None:
        text = f"would sign {result.path} by {result.signer}"
        if result.recorded:
            text += "; would re-record its sha256"
    else:
        statement = result.statement_sha256[:16]
        text = f"signed {result.path} by {result.signer} (statement {statement}...)"
        if result.recorded:
            text += f"; recorded sha256 {result.sha256} (was {result.previous_sha256})"
    emit(result, opts, text=text, dry_run_commands=commands)
    return pending_exit(True)  # signing always rewrites the signature
