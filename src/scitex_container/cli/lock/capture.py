"""`scitex-container lock capture IMAGE`: the exact package versions installed in an image."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.main import execute, pending_exit
from scitex_container.cli.options import EXISTING, TidyPath, common_options
from scitex_container.cli.output import emit


@click.command("capture")
@click.argument("image", type=EXISTING)
@click.option(
    "-o",
    "--output",
    type=TidyPath(dir_okay=False),
    help="Write the lock here (default, or -: print it).",
)
@click.option(
    "--method",
    type=click.Choice(["auto", "static", "exec"]),
    default="auto",
    show_default=True,
    help="static reads the image's files; exec runs the tools inside it once.",
)
@click.option("--no-date", is_flag=True, help="Leave the capture date out (byte-stable output).")
@common_options
def capture(image: str, output: str | None, method: str, no_date: bool) -> int:
    """Capture the exact pip, dpkg, npm (and apk) versions installed in IMAGE."""
    from scitex_container.apptainer.lock.capture import capture_lock
    from scitex_container.apptainer.lock.lockfile import render_lock

    opts = get_options()
    if output == "-":  # stdout: what no -o does
        output = None
    if output is not None:  # an output the caller cannot write: refused by a dry run too
        from scitex_container.files.fsutil import check_output

        check_output(output)
    result, commands = execute(
        lambda: capture_lock(image, output, method=method, captured_at="" if no_date else None)
    )
    if output is None and not opts.json:
        click.echo(render_lock(result), nl=False)
        return 0
    counts = ", ".join(f"{n} {k}" for k, n in result.counts().items() if n or k != "apk")
    pending = output is not None and not _same_text(output, render_lock(result))
    verb = "wrote" if commands is None else "would write" if pending else "unchanged:"
    text = f"{verb} {output} ({counts})" if output else counts
    emit(result, opts, text=text, dry_run_commands=commands)
    return pending_exit(pending)


def _same_text(path: str, text: str) -> bool:
    import os
    import stat

    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False  # a device or FIFO: reading it back would block or mean nothing
        with open(path, encoding="utf-8") as fh:
            return fh.read() == text
    except OSError:
        return False
