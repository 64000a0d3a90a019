"""`scitex-container lock pin DEF LOCK`: write the locked def (the rough def plus pins)."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.main import execute, pending_exit
from scitex_container.cli.options import (
    EXISTING_DIR,
    EXISTING_FILE,
    TidyPath,
    apt_scope_option,
    common_options,
    pip_options_option,
    snapshot_mirror_option,
)
from scitex_container.cli.output import emit


@click.command()
@click.argument("definition", type=EXISTING_FILE)
@click.argument("lock_file", metavar="LOCK", type=EXISTING_FILE)
@click.option(
    "-o",
    "--output",
    "out_def",
    type=TidyPath(dir_okay=False),
    help="Where to write the locked def, - for stdout (default: DEF with .locked.def).",
)
@apt_scope_option
@snapshot_mirror_option
@click.option(
    "--base-lock",
    type=EXISTING_FILE,
    help="Lock of the base image (its packages are not pinned with --apt-scope added).",
)
@pip_options_option
@click.option(
    "--archive",
    type=EXISTING_DIR,
    help="Install only from this artifact archive (`lock archive`): no network source.",
)
@common_options
def pin(
    definition, lock_file, out_def, apt_scope, snapshot_mirror, base_lock, pip_options, archive
) -> int:
    """Write DEF plus pin stanzas for the versions in LOCK (apt, pip, npm).

    With --dry-run nothing is written; exit 1 when the locked def would change.
    """
    from pathlib import Path

    from scitex_container.apptainer.lock.pin import generate_locked_def, render_locked_def

    opts = get_options()
    if out_def is None:
        src = Path(definition)
        out_def = src.with_name(src.name.removesuffix(".def") + ".locked.def")
    kwargs = dict(
        apt_scope=apt_scope,
        base_lock=base_lock,
        snapshot_mirror=snapshot_mirror,
        pip_options=list(pip_options) or None,
        archive=archive,
    )
    if out_def != "-":
        from scitex_container.apptainer.repro.prebuild import check_output

        check_output(Path(out_def), Path(definition))  # never over a file we did not write
        from scitex_container.files import fsutil

        fsutil.check_output(out_def)  # one the caller cannot write: refused by a dry run too
    pending = True
    if opts.dry_run:
        text = render_locked_def(definition, lock_file, out_def, **kwargs)
        try:  # only a regular file is read back (a FIFO would block)
            pending = not Path(out_def).is_file() or Path(out_def).read_text("utf-8") != text
        except (OSError, UnicodeDecodeError):
            pending = True
    path, commands = execute(lambda: generate_locked_def(definition, lock_file, out_def, **kwargs))
    if opts.dry_run:
        said = f"would write {path}" if pending else f"unchanged: {path} (the same text)"
    else:
        said = f"wrote {path}"
    emit(
        {"locked_def": str(path)},
        opts,
        text=said,
        dry_run_commands=commands,
        stdout_taken=out_def == "-",
    )
    return pending_exit(pending)
