"""`scitex-container snapshot`: record host, image and dev repos as JSON."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.main import pending_exit
from scitex_container.cli.options import EXISTING_DIR, TidyPath, common_options
from scitex_container.cli.output import dumps, emit, info


@click.command()
@click.option(
    "-o",
    "--output",
    "output",
    type=TidyPath(dir_okay=False),
    help="Write the snapshot to FILE (atomically) instead of stdout (-).",
)
@click.option(
    "--containers-dir",
    type=EXISTING_DIR,
    help="The containers directory (default: found as for build).",
)
@click.option(
    "--dev-repo",
    "dev_repos",
    multiple=True,
    type=EXISTING_DIR,
    help="A git repository to record (repeatable).",
)
@common_options
def snapshot(output, containers_dir, dev_repos) -> int:
    """Print (or write) a JSON provenance snapshot; it never fails, errors are inside."""
    from scitex_container.files.fsutil import atomic_write_text
    from scitex_container.host.snapshot import env_snapshot
    from scitex_container.process import runner

    opts = get_options()
    if output == "-":  # stdout: what no -o does
        output = None
    if output is not None:  # an output the caller cannot write: refused by a dry run too
        from scitex_container.files.fsutil import check_output

        check_output(output)
    dry = opts.dry_run
    if dry:
        with runner.dry_run():
            data = env_snapshot(containers_dir, list(dev_repos))
    else:
        data = env_snapshot(containers_dir, list(dev_repos))
    text = dumps(data) + "\n"
    n = len(data["errors"])
    summary = {"path": str(output), "errors": data["errors"]}  # -o FILE: which file, as sbom
    if output and not dry:
        atomic_write_text(output, text)
        if opts.json:  # stdout has the result naming the file, as every --json command
            emit(summary, opts)
        else:
            info(f"snapshot written to {output} ({n} error(s) recorded)", opts)
    elif output:  # a dry run: what would be written, not the snapshot as if it were output
        emit(summary, opts, text=f"would write {output} ({n} error(s) recorded)")
    else:
        click.echo(text, nl=False)
    return pending_exit(bool(output))
