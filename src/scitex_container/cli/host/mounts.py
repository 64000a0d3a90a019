"""`scitex-container host mounts`: binds and launchers running host tools in a container."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.main import execute
from scitex_container.cli.options import common_options
from scitex_container.cli.output import emit


@click.command()
@click.option(
    "--texlive-prefix", default="", help="TeX Live prefix (default: /usr if installed there)."
)
@click.option(
    "--imagemagick-prefix",
    default=None,
    help="ImageMagick prefix ('' for /usr if installed there; default: none).",
)
@click.option(
    "--host-mounts",
    "host_mounts_raw",
    default="",
    help="Extra binds: host:container[:mode], comma or newline separated.",
)
@common_options
def mounts(texlive_prefix, imagemagick_prefix, host_mounts_raw) -> int:
    """Show the binds, PATH additions and launchers that make host tools run in a container."""
    from scitex_container.host.mounts import get_mount_config

    result, commands = execute(
        lambda: get_mount_config(  # the command runs here: the host paths must exist here
            texlive_prefix, host_mounts_raw, imagemagick_prefix=imagemagick_prefix, resolve=True
        )
    )
    opts = get_options()
    if opts.json:
        emit(result, opts, dry_run_commands=commands)
    else:
        lines = [f"PATH additions: {':'.join(result['path_additions'])}"]
        lines += [f"--bind {m['host']}:{m['container']}:{m['mode']}" for m in result["mounts"]]
        lines += [f"unrunnable: {u['binary']}: {u['reason']}" for u in result["unrunnable"]]
        lines += [
            f"needs interpreter: {n['binary']}: {n['interpreter']}"
            for n in result["needs_interpreter"]
        ]
        lines += [f"error: {e}" for e in result["errors"]]
        emit(result, opts, text="\n".join(lines), dry_run_commands=commands)
    return 1 if result["unrunnable"] or result["errors"] else 0
