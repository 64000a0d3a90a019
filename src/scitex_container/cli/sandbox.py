"""`scitex-container sandbox ...`: create, maintain, update, convert and version sandboxes.

DIR is the directory holding ``sandbox-<timestamp>/`` versions and the
``current-sandbox`` link (or an image directory built with ``build --sandbox``).
"""

from __future__ import annotations

import click

from scitex_container.cli.context import common_options, get_options
from scitex_container.cli.main import execute
from scitex_container.cli.output import emit

dir_argument = click.argument("directory", metavar="DIR", type=click.Path(file_okay=False))


def _store(directory):
    from scitex_container.apptainer.store.versions import open_store

    return open_store(directory, sandbox=True)


@click.group()
@common_options
def sandbox() -> None:
    """Create, update, switch and convert sandboxes."""


@sandbox.command()
@click.argument("source", type=click.Path(exists=True))
@click.option(
    "-d",
    "--dir",
    "containers_dir",
    type=click.Path(file_okay=False),
    help="Store directory (default: SOURCE's directory).",
)
@click.option(
    "-o",
    "--output",
    "output_dir",
    type=click.Path(),
    help="Build exactly here instead (no versioning).",
)
@click.option(
    "--fakeroot/--no-fakeroot", default=None, help="Override the automatic --fakeroot choice."
)
@common_options
def create(source, containers_dir, output_dir, fakeroot) -> int:
    """Build a sandbox from SOURCE (a .def, a .sif or a sandbox) and make it current."""
    from scitex_container.apptainer.sandbox.versions import sandbox_create

    path, commands = execute(
        lambda: sandbox_create(source, containers_dir, output_dir=output_dir, fakeroot=fakeroot)
    )
    emit({"path": str(path)}, get_options(), text=f"created {path}", dry_run_commands=commands)
    return 0


@sandbox.command(context_settings={"ignore_unknown_options": True})
@click.argument("sandbox_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.option(
    "--fakeroot/--no-fakeroot", default=None, help="Override the automatic --fakeroot choice."
)
@common_options
def maintain(sandbox_dir, command, fakeroot) -> int:
    """Run COMMAND inside SANDBOX_DIR with --writable (and --fakeroot)."""
    from scitex_container.apptainer.sandbox.ops import sandbox_maintain

    code, commands = execute(
        lambda: sandbox_maintain(sandbox_dir, list(command), fakeroot=fakeroot)
    )
    if commands is not None or get_options().json:
        emit({"returncode": code}, get_options(), text="", dry_run_commands=commands)
    return code


@sandbox.command()
@click.argument("sandbox_dir", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--proj-root",
    type=click.Path(file_okay=False),
    help="Directory holding the repositories (default: ~/proj).",
)
@click.option(
    "-p",
    "--package",
    "packages",
    multiple=True,
    help="Package to install (repeatable; default: the ecosystem list).",
)
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
    from scitex_container.apptainer.sandbox.ops import sandbox_update

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
    return 1 if "failed" in results.values() else 0


@sandbox.command("to-sif")
@click.argument("sandbox_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("output_sif", type=click.Path(dir_okay=False))
@click.option("--sign", "key", type=click.Path(dir_okay=False), help="Sign it with this PEM key.")
@common_options
def to_sif(sandbox_dir, output_sif, key) -> int:
    """Convert SANDBOX_DIR into the SIF image OUTPUT_SIF (atomically)."""
    from scitex_container.apptainer.sandbox.ops import sandbox_to_sif

    path, commands = execute(lambda: sandbox_to_sif(sandbox_dir, output_sif, sign_key=key))
    emit({"path": str(path)}, get_options(), text=f"wrote {path}", dry_run_commands=commands)
    return 0


@sandbox.command()
@click.argument("sandbox_dir", type=click.Path(exists=True, file_okay=False))
@click.option(
    "--default",
    "default_ps1",
    default=r"\W $ ",
    show_default=True,
    help="Prompt when $SCITEX_CLOUD_APPTAINER_PS1 is unset.",
)
@common_options
def ps1(sandbox_dir, default_ps1) -> int:
    """Install the prompt snippet (honours $SCITEX_CLOUD_APPTAINER_PS1)."""
    from scitex_container.apptainer.sandbox.ops import sandbox_configure_ps1

    _, commands = execute(lambda: sandbox_configure_ps1(sandbox_dir, default_ps1))
    emit(
        {"sandbox": sandbox_dir, "default_ps1": default_ps1},
        get_options(),
        text=f"prompt configured in {sandbox_dir}",
        dry_run_commands=commands,
    )
    return 0


@sandbox.command("list")
@dir_argument
@common_options
def list_(directory) -> int:
    """List the sandboxes in DIR, newest first."""
    st = _store(directory)
    rows, commands = execute(lambda: [r.row() for r in st.versions()])
    for row in rows:
        row.pop("size"), row.pop("size_bytes")
    emit(
        rows,
        get_options(),
        columns=["version", "active", "protected", "date", "path"],
        dry_run_commands=commands,
    )
    return 0


@sandbox.command()
@click.argument("version")
@dir_argument
@click.option("--sudo", "use_sudo", is_flag=True, help="Use sudo if DIR is not writable.")
@common_options
def switch(version, directory, use_sudo) -> int:
    """Make sandbox VERSION the current one (an atomic link switch)."""
    from scitex_container.cli.store import report_switch

    return report_switch(_store(directory), version, use_sudo)


@sandbox.command()
@dir_argument
@click.option("--sudo", "use_sudo", is_flag=True, help="Use sudo if DIR is not writable.")
@common_options
def rollback(directory, use_sudo) -> int:
    """Switch back to the sandbox before the current one."""
    from scitex_container.cli.store import report_rollback

    return report_rollback(_store(directory), use_sudo)


@sandbox.command()
@dir_argument
@click.option(
    "-k",
    "--keep",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="Sandboxes to keep besides the current and protected ones.",
)
@common_options
def cleanup(directory, keep) -> int:
    """Remove old sandboxes; never the current or protected ones."""
    from scitex_container.cli.store import report_cleanup

    return report_cleanup(_store(directory), keep)
