"""`scitex-container host check`: which host package groups are installed (read-only)."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.options import common_options
from scitex_container.cli.output import emit


@click.command()
@common_options
def check() -> int:
    """Show which host package groups are installed (exit 1 if one is not)."""
    from scitex_container.host.check import check_packages

    result = check_packages()
    rows = [
        {
            "group": name,
            "installed": g["installed"],
            "version": g["version"],
            "binaries": " ".join(g["binaries"]),
        }
        for name, g in result.items()
    ]
    opts = get_options()
    emit(result if opts.json else rows, opts, columns=["group", "installed", "version", "binaries"])
    return 0 if all(g["installed"] for g in result.values()) else 1
