"""`scitex-container deploy`: copy the active image to a shared path and switch there."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.main import execute, pending_exit
from scitex_container.cli.options import EXISTING, TidyPath, common_options, sudo_option
from scitex_container.cli.output import emit


@click.command()
@click.argument("source", type=EXISTING)
@click.argument("target", required=False, type=TidyPath())
@sudo_option()
@click.option("--durable", is_flag=True, help="fsync each copied file before it goes live.")
@common_options
def deploy(source, target, use_sudo, durable) -> int:
    """Copy the active image of SOURCE (and its newest base) to TARGET; switch there.

    SOURCE naming one version file deploys that version instead.

    TARGET defaults to /opt/scitex/singularity.  Files TARGET already holds
    with the same sha256 are not copied again.
    """
    from scitex_container.apptainer.store.deploy import DEFAULT_TARGET, deploy_store
    from scitex_container.apptainer.store.opening import named_version
    from scitex_container.cli.store.report import open_store

    store = open_store(source, changes=True)  # says how a version path was taken; one image
    named = named_version(source, store)

    result, commands = execute(
        lambda: deploy_store(source, target or DEFAULT_TARGET, use_sudo=use_sudo, durable=durable)
    )
    verb = "would copy" if commands is not None else "copied"
    lines = []
    if named is not None and named != store.active_version():
        lines.append(f"deploying version {named} (named), not the active version")
    lines += [f"{verb} {p}" for p in result.copied] + [f"unchanged {p}" for p in result.skipped]
    switched = _switched(result)
    if commands is not None and not switched:
        lines.append(f"would point {result.link} at version {result.version}")
    else:
        lines.append(f"{result.link} -> version {result.version}")
    emit(result, get_options(), text="\n".join(lines), dry_run_commands=commands)
    return pending_exit(bool(result.copied) or bool(commands) or not switched)


def _switched(result) -> bool:
    """Whether the target's active link already points at the deployed version."""
    import os

    from scitex_container.apptainer.store.opening import open_store

    if not os.path.islink(result.link):
        return False
    return open_store(result.link).active_version() == result.version
