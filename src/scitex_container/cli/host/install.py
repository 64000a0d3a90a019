"""`scitex-container host install`: install host package groups with apt."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.main import execute, pending_exit
from scitex_container.cli.options import common_options, sudo_option
from scitex_container.cli.output import emit


@click.command()
@click.option("--texlive", is_flag=True, help="A minimal TeX Live (texlive-latex-base).")
@click.option(
    "--texlive-recommended",
    is_flag=True,
    help="Also texlive-latex-recommended and texlive-fonts-recommended.",
)
@click.option("--imagemagick", is_flag=True, help="ImageMagick.")
@click.option("--all", "all_", is_flag=True, help="Every group.")
@click.option("--check", "check_only", is_flag=True, help="Only check; install nothing.")
@sudo_option("Run the installer through sudo when not root.")
@common_options
def install(texlive, texlive_recommended, imagemagick, all_, check_only, use_sudo) -> int:
    """Install host package groups with apt (exit 1 if one is missing or failed)."""
    from scitex_container.errors import BadInputError
    from scitex_container.host.install import install_packages

    if not (texlive or texlive_recommended or imagemagick or all_):
        raise BadInputError("choose --texlive, --imagemagick or --all", "host install")
    result, commands = execute(
        lambda: install_packages(
            texlive=texlive or texlive_recommended,
            imagemagick=imagemagick,
            all=all_,
            check_only=check_only,
            use_sudo=use_sudo,
            texlive_recommended=texlive_recommended,
        )
    )
    opts = get_options()
    groups = {k: v for k, v in result.items() if isinstance(v, dict) and "status" in v}
    rows = [{"group": k, **v} for k, v in groups.items()]
    emit(
        result if opts.json else rows,
        opts,
        columns=["group", "status", "state", "exit_code", "detail"],
        dry_run_commands=commands,
    )
    if commands is not None:
        return pending_exit(bool(commands))
    bad = [v for v in groups.values() if v["status"] in ("failed", "missing")]
    return 1 if bad else 0
