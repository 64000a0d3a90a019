"""`scitex-container push`: send a version to an OCI registry with its proof."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.main import execute, pending_exit
from scitex_container.cli.options import EXISTING, common_options, plain_http_option
from scitex_container.cli.output import emit


@click.command()
@click.argument("source", type=EXISTING)
@click.argument("target")
@plain_http_option()
@common_options
def push(source, target, plain_http) -> int:
    """Push SOURCE (a SIF, or a store's active version) to TARGET (oras://REGISTRY/NAME:TAG).

    The SIF goes by `apptainer push`; its lock, in-toto statement and SBOM
    go beside it as an OCI artifact whose subject is the SIF's manifest, so
    `pull` checks them on arrival.  A version whose recorded digest no
    longer matches is refused before anything is sent.
    """
    from scitex_container.apptainer.transfer.push import push_image

    result, commands = execute(lambda: push_image(source, target, plain_http=plain_http))
    if commands is not None:
        text = f"would push {result.image} to {result.reference}"
    else:
        pinned = result.reference.rsplit(":", 1)[0] + "@" + result.manifest_digest
        attached = ", ".join(result.proof) or "no proof (the image has no lock, statement or SBOM)"
        text = f"pushed {result.image} to {result.reference}\n{pinned}\nattached: {attached}"
    emit(result, get_options(), text=text, dry_run_commands=commands)
    return pending_exit(commands is not None)
