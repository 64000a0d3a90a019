"""`scitex-container key`: make a PEM signing key pair for `sign` and `build --sign`."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.main import execute, pending_exit
from scitex_container.cli.options import TidyPath, common_options
from scitex_container.cli.output import emit
from scitex_container.cli.seed.help_recursive import group_option


@click.group()
@group_option
def key() -> None:
    """Signing keys (PEM files apptainer signs and verifies with)."""


@key.command("new")
@click.argument("directory", type=TidyPath(file_okay=False))
@click.option(
    "--type",
    "kind",
    type=click.Choice(["ecdsa-p256", "ed25519", "rsa-3072"]),
    default="ecdsa-p256",
    show_default=True,
    help="Key algorithm.",
)
@click.option("--name", default="scitex-signing", show_default=True, help="File name stem.")
@common_options
def new(directory: str, kind: str, name: str) -> int:
    """Write DIRECTORY/NAME.key (private, 0600) and DIRECTORY/NAME.pub; never overwrites."""
    from scitex_container.apptainer.signing.keys import new_keypair

    opts = get_options()
    result, commands = execute(lambda: new_keypair(directory, kind=kind, name=name))
    if commands is not None:  # no key made: no fingerprint to show
        text = (
            f"would create a key pair in {directory}: {result.private} (private, 0600)"
            f" and {result.public}"
        )
    else:
        text = (
            f"wrote {result.private} (private, 0600) and {result.public}\n"
            f"fingerprint {result.fingerprint}"
        )
    emit(result, opts, text=text, dry_run_commands=commands)
    return pending_exit(True)  # a dry run always has a key pair to write
