"""`scitex-container host check|install|mounts`: host packages bound into containers."""

from __future__ import annotations

import click

from scitex_container.cli.context import common_options, get_options
from scitex_container.cli.main import execute
from scitex_container.cli.output import emit


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def host() -> None:
    """Check, install and mount host packages (TeX Live, ImageMagick)."""


@host.command()
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


@host.command()
@click.option("--texlive", is_flag=True, help="A minimal TeX Live (texlive-latex-base).")
@click.option(
    "--texlive-recommended",
    is_flag=True,
    help="Also texlive-latex-recommended and texlive-fonts-recommended.",
)
@click.option("--imagemagick", is_flag=True, help="ImageMagick.")
@click.option("--all", "all_", is_flag=True, help="Every group.")
@click.option("--check", "check_only", is_flag=True, help="Only check; install nothing.")
@click.option(
    "--sudo", "use_sudo", is_flag=True, help="Run the installer through sudo when not root."
)
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
    groups = {k: v for k, v in result.items() if isinstance(v, dict)}
    rows = [{"group": k, **v} for k, v in groups.items()]
    emit(
        result if opts.json else rows,
        opts,
        columns=["group", "status", "returncode", "detail"],
        dry_run_commands=commands,
    )
    bad = [v for v in groups.values() if v["status"] in ("failed", "missing")]
    return 1 if bad and commands is None else 0


@host.command()
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
        lambda: get_mount_config(
            texlive_prefix, host_mounts_raw, imagemagick_prefix=imagemagick_prefix
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
