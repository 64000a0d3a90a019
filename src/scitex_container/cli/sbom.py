"""`scitex-container sbom`: CycloneDX JSON of an image or a lock file."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.main import execute, pending_exit
from scitex_container.cli.options import EXISTING, TidyPath, common_options
from scitex_container.cli.output import emit


@click.command()
@click.argument("source", type=EXISTING)
@click.option(
    "-o",
    "--output",
    type=TidyPath(dir_okay=False),
    help="Write the SBOM here (default, or -: print it).",
)
@click.option("--embed", is_flag=True, help="Also put it in the SIF as its SBOM data object.")
@click.option(
    "--key",
    type=TidyPath(dir_okay=False),
    help="With --embed: re-sign the SIF with this PEM private key after embedding "
    "(needed when the SIF is signed; a store version's digest is re-recorded).",
)
@common_options
def sbom(source: str, output: str | None, embed: bool, key: str | None) -> int:
    """Export a CycloneDX SBOM of SOURCE (a SIF, a sandbox or a lock file).

    --embed into a signed SIF is refused (exit 2) unless --key re-signs it.
    """
    from scitex_container.apptainer.lock.sbom import export_sbom
    from scitex_container.files.fsutil import check_output

    opts = get_options()
    if output == "-":  # stdout: what no -o does
        output = None
    for written in (output, source if embed else None):  # refused alike by a dry run
        if written is not None:
            check_output(written)
    result, commands = execute(lambda: export_sbom(source, output, embed=embed, key=key))
    if output is None and not embed and not opts.json:
        click.echo(result["text"], nl=False)
        return 0
    summary = {k: v for k, v in result.items() if k != "text"}
    dry = commands is not None
    signed = result.get("signer") and f"re-signed by {result['signer']}"
    where = [
        w
        for w in (
            output and f"wrote {output}",
            (result["embedded"] or (dry and embed)) and f"embedded in {source}",
            (signed or (dry and embed and key)) and (signed or "re-signed"),
        )
        if w
    ]
    if dry:
        where = ["would " + w.replace("wrote", "write").replace("embedded", "embed") for w in where]
        where = [w.replace("would re-signed", "would re-sign") for w in where]
    emit(
        summary,
        opts,
        text=f"{'; '.join(where) or 'sbom'} ({result['components']} components)",
        dry_run_commands=commands,
    )
    return pending_exit(bool(output) or embed)
