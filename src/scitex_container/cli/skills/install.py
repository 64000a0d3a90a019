"""`scitex-container skills install`: link (or copy) the skill pages where agents look."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.main import execute, pending_exit
from scitex_container.cli.options import TidyPath, common_options
from scitex_container.cli.output import emit


@click.command()
@click.option(
    "--dest",
    type=TidyPath(file_okay=False),
    help="Directory to install under (default: ~/.scitex/dev/skills).",
)
@click.option("--no-link", "copy", is_flag=True, help="Copy the pages instead of linking them.")
@click.option(
    "--claude-symlink", is_flag=True, help="Also link ~/.claude/skills/scitex to the directory."
)
@click.option("-y", "--yes", "seed_yes", is_flag=True, help="Accepted for the seed's scripts.")
@common_options
def install(dest: str | None, copy: bool, claude_symlink: bool, seed_yes: bool) -> int:
    """Make DEST/scitex-container the bundled skill pages (a link, or a copy).

    Only an earlier install (our link, our copy, the seed's link) is replaced;
    anything else there is refused (exit 2) and left as it is.
    """
    from scitex_container.skills.skill_install import install_skills

    result, commands = execute(lambda: install_skills(dest, copy, claude_symlink))
    lines = [f"{result.action}: {result.target} -> {result.source}"]
    if result.claude_link:
        lines.append(f"{result.claude_action}: {result.claude_link}")
    emit(result, get_options(), text="\n".join(lines), dry_run_commands=commands)
    pending = result.action.startswith("would") or (result.claude_action or "").startswith("would")
    return pending_exit(pending)
