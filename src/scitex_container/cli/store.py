"""Image store commands: status, versions, switch, rollback, cleanup, deploy.

STORE is a store directory (the reference's flat layout with current.sif,
or an image directory written by `build`, e.g. OUT/NAME), or its active
link; it defaults to the containers directory.
"""

from __future__ import annotations

import click

from scitex_container.cli.context import common_options, get_options
from scitex_container.cli.main import execute
from scitex_container.cli.output import emit

_COLUMNS = ["version", "active", "protected", "size", "date", "path"]
store_argument = click.argument("store", required=False, type=click.Path())


def report_switch(st, version: str, use_sudo: bool) -> int:
    """Switch store ``st`` to ``version`` and print where its link points (also `sandbox switch`)."""
    row, commands = execute(lambda: st.switch(version, use_sudo=use_sudo))
    data = {"version": row.version, "path": str(row.path), "link": str(st.link)}
    emit(data, get_options(), text=f"{st.link} -> {row.path.name}", dry_run_commands=commands)
    return 0


def report_rollback(st, use_sudo: bool) -> int:
    """Roll store ``st`` back one version and print it (also `sandbox rollback`)."""
    version, commands = execute(lambda: st.rollback(use_sudo=use_sudo))
    data = {"version": version, "link": str(st.link)}
    emit(data, get_options(), text=f"rolled back to {version}", dry_run_commands=commands)
    return 0


def report_cleanup(st, keep: int) -> int:
    """Clean store ``st`` up keeping ``keep`` versions; print what went (also `sandbox cleanup`)."""
    removed, commands = execute(lambda: st.cleanup(keep))
    opts = get_options()
    verb = "would remove" if opts.dry_run else "removed"
    text = "\n".join(f"{verb} {p}" for p in removed) or "nothing to remove"
    emit({"removed": [str(p) for p in removed]}, opts, text=text, dry_run_commands=commands)
    return 0


def _open(store, sandbox: bool = False):
    from scitex_container.apptainer.deffile.lookup import find_containers_dir
    from scitex_container.apptainer.store.versions import open_store

    return open_store(store if store is not None else find_containers_dir(), sandbox=sandbox)


@click.command()
@click.argument("containers_dir", required=False, type=click.Path(file_okay=False))
@click.option(
    "-o",
    "--output-dir",
    type=click.Path(file_okay=False),
    help="Where `build` put the images (default: CONTAINERS_DIR).",
)
@click.option("--check", is_flag=True, help="Exit 1 when any image needs a rebuild.")
@common_options
def status(containers_dir, output_dir, check) -> int:
    """Show each .def, its active image and whether `build` would rebuild it."""
    from scitex_container.apptainer.building.decision import image_statuses

    rows, commands = execute(
        lambda: [s.row() for s in image_statuses(containers_dir, output_dir=output_dir)]
    )
    columns = ["name", "needs_rebuild", "version", "sif_size", "sif_date", "sif_path", "error"]
    emit(rows, get_options(), columns=columns, title="images", dry_run_commands=commands)
    return 1 if check and any(r["needs_rebuild"] for r in rows) else 0


@click.command()
@store_argument
@click.option(
    "--protect",
    "protect",
    metavar="VERSION",
    help="Add a keep marker to VERSION (cleanup never removes it).",
)
@click.option(
    "--unprotect", "unprotect", metavar="VERSION", help="Remove the keep marker of VERSION."
)
@common_options
def versions(store, protect, unprotect) -> int:
    """List the versions of an image, newest first."""
    st = _open(store)

    def action():
        if protect:
            st.protect(protect, True)
        if unprotect:
            st.protect(unprotect, False)
        return [row.row() for row in st.versions()]

    from scitex_container.apptainer.store.link import link_problem

    rows, commands = execute(action)
    if problem := link_problem(st):
        click.echo(f"warning: {problem}", err=True)
    emit(rows, get_options(), columns=_COLUMNS, title=str(st.dir), dry_run_commands=commands)
    return 0


@click.command()
@click.argument("version")
@store_argument
@click.option("--sudo", "use_sudo", is_flag=True, help="Use sudo if the directory is not writable.")
@common_options
def switch(version, store, use_sudo) -> int:
    """Make VERSION the active one (an atomic link switch)."""
    return report_switch(_open(store), version, use_sudo)


@click.command()
@store_argument
@click.option("--sudo", "use_sudo", is_flag=True, help="Use sudo if the directory is not writable.")
@common_options
def rollback(store, use_sudo) -> int:
    """Switch back to the version before the active one (in version order)."""
    return report_rollback(_open(store), use_sudo)


@click.command()
@store_argument
@click.option(
    "-k",
    "--keep",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="Versions to keep besides the active and protected ones.",
)
@common_options
def cleanup(store, keep) -> int:
    """Remove old versions; never the active, base or protected ones."""
    return report_cleanup(_open(store), keep)


@click.command()
@click.argument("source", type=click.Path())
@click.argument("target", required=False, type=click.Path())
@click.option("--sudo", "use_sudo", is_flag=True, help="Use sudo if the target is not writable.")
@click.option("--durable", is_flag=True, help="fsync each copied file before it goes live.")
@common_options
def deploy(source, target, use_sudo, durable) -> int:
    """Copy the active image of SOURCE (and its newest base) to TARGET; switch there.

    TARGET defaults to /opt/scitex/singularity.  Files TARGET already holds
    with the same sha256 are not copied again.
    """
    from scitex_container.apptainer.store.publish import DEFAULT_TARGET, deploy_store

    result, commands = execute(
        lambda: deploy_store(source, target or DEFAULT_TARGET, use_sudo=use_sudo, durable=durable)
    )
    verb = "would copy" if commands is not None else "copied"
    lines = [f"{verb} {p}" for p in result.copied] + [f"unchanged {p}" for p in result.skipped]
    lines.append(f"{result.link} -> version {result.version}")
    emit(result, get_options(), text="\n".join(lines), dry_run_commands=commands)
    return 0
