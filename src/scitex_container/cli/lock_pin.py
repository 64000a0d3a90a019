"""`scitex-container lock pin DEF LOCK`: write the locked def (the rough def plus pins).

Attached to the ``lock`` group by ``cli/lock.py`` (``lock.add_command(pin)``).
"""

from __future__ import annotations

import click

from scitex_container.cli.context import common_options, get_options
from scitex_container.cli.main import execute
from scitex_container.cli.output import emit

_SCOPES = ("added", "explicit", "all", "none")


@click.command()
@click.argument("definition", type=click.Path(dir_okay=False))
@click.argument("lock_file", metavar="LOCK", type=click.Path(dir_okay=False))
@click.option(
    "-o",
    "--output",
    "out_def",
    type=click.Path(dir_okay=False),
    help="Where to write the locked def (default: DEF with .locked.def).",
)
@click.option(
    "--apt-scope",
    type=click.Choice(_SCOPES),
    default="added",
    show_default=True,
    help="dpkg packages to pin: beyond the bootstrap, only those the def names, all, or none.",
)
@click.option(
    "--snapshot",
    "snapshot_mirror",
    metavar="WHEN|URL",
    help="Add a dated apt archive (20240115T000000Z, 2024-01-15, `lock` = capture time, or a URL).",
)
@click.option(
    "--base-lock",
    type=click.Path(dir_okay=False),
    help="Lock of the base image (its packages are not pinned with --apt-scope added).",
)
@click.option(
    "--pip-option",
    "pip_options",
    multiple=True,
    metavar="OPT",
    help="A pip source option for the pins (repeat; replaces those read from DEF).",
)
@click.option(
    "--archive",
    type=click.Path(file_okay=False),
    help="Install only from this artifact archive (`lock archive`): no network source.",
)
@common_options
def pin(
    definition, lock_file, out_def, apt_scope, snapshot_mirror, base_lock, pip_options, archive
) -> None:
    """Write DEF plus pin stanzas for the versions in LOCK (apt, pip, npm)."""
    from pathlib import Path

    from scitex_container.apptainer.repro.locked_def import generate_locked_def

    opts = get_options()
    if out_def is None:
        src = Path(definition)
        out_def = src.with_name(src.name.removesuffix(".def") + ".locked.def")
    path, commands = execute(
        lambda: generate_locked_def(
            definition,
            lock_file,
            out_def,
            apt_scope=apt_scope,
            base_lock=base_lock,
            snapshot_mirror=snapshot_mirror,
            pip_options=list(pip_options) or None,
            archive=archive,
        )
    )
    emit({"locked_def": str(path)}, opts, text=f"wrote {path}", dry_run_commands=commands)
