"""`scitex-container skills get NAME`: print one skill page."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.options import common_options
from scitex_container.cli.output import emit


@click.command()
@click.argument("name")
@common_options
def get(name: str) -> int:
    """Print the skill page NAME (e.g. `02_quick-start`; `.md` optional)."""
    from scitex_container.skills.book import get_page

    page = get_page(name)
    emit(page, get_options(), text=(page.content or "").rstrip("\n"))
    return 0
