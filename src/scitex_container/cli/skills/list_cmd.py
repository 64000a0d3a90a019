"""`scitex-container skills list`: the bundled skill pages."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.options import common_options
from scitex_container.cli.output import emit


@click.command("list")
@common_options
def list_cmd() -> int:
    """List the skill pages bundled with the package (name and file)."""
    from scitex_container.skills.book import list_pages

    emit([p.to_dict() for p in list_pages()], get_options(), columns=["name", "path"])
    return 0
