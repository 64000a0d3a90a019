"""`scitex-container sandbox update DIR`: pip-install local repositories into a sandbox."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.main import execute, pending_exit
from scitex_container.cli.options import EXISTING_DIR, TidyPath, common_options, refused_letter
from scitex_container.cli.output import emit


@click.command()
@click.argument("sandbox_dir", type=EXISTING_DIR)
@click.option(
    "--proj-root",
    type=TidyPath(file_okay=False),
    help="Directory holding the repositories (default: ~/proj).",
)
@click.option(
    "--package",
    "packages",
    multiple=True,
    help="Package to install (repeatable; default: the ecosystem list).",
)
@refused_letter("-p", "--package NAME", "the project")  # was --package once: refused
@click.option(
    "--deps", "install_deps", is_flag=True, help="Install dependencies too (default: --no-deps)."
)
@click.option(
    "--build-isolation",
    is_flag=True,
    help="Let pip build in an isolated environment (needs the network).",
)
@common_options
def update(sandbox_dir, proj_root, packages, install_deps, build_isolation) -> int:
    """pip-install local repositories into SANDBOX_DIR; exit 1 if any failed."""
    from scitex_container.apptainer.sandbox.maintenance import sandbox_update

    results, commands = execute(
        lambda: sandbox_update(
            sandbox_dir,
            proj_root=proj_root,
            packages=packages or None,
            install_deps=install_deps,
            build_isolation=build_isolation,
        )
    )
    rows = [{"package": k, "result": v} for k, v in results.items()]
    emit(rows if not get_options().json else results, get_options(), dry_run_commands=commands)
    if commands is not None:
        return pending_exit(bool(commands))
    return 1 if "failed" in results.values() else 0
