"""What the store commands share (also used by `sandbox switch|rollback|cleanup`).

STORE is a store directory (the reference's flat layout with current.sif,
or an image directory written by `build`, e.g. OUT/NAME), or its active
link; it defaults to the containers directory.
"""

from __future__ import annotations

from scitex_container.cli.context import get_options
from scitex_container.cli.main import execute, pending_exit
from scitex_container.cli.output import emit

VERSION_COLUMNS = ["version", "active", "protected", "size", "date", "path"]


def open_store(store, sandbox: bool = False):
    """The store at ``store`` (default: the containers directory)."""
    from scitex_container.apptainer.deffile.lookup import find_containers_dir
    from scitex_container.apptainer.store.opening import open_store as open_fn

    return open_fn(store if store is not None else find_containers_dir(), sandbox=sandbox)


def report_switch(st, version: str, use_sudo: bool) -> int:
    """Switch store ``st`` to ``version`` and print where its link points."""
    was_active = st.get(version).active
    row, commands = execute(lambda: st.switch(version, use_sudo=use_sudo))
    data = {"version": row.version, "path": str(row.path), "link": str(st.link)}
    emit(data, get_options(), text=f"{st.link} -> {row.path.name}", dry_run_commands=commands)
    return pending_exit(not was_active)


def report_rollback(st, use_sudo: bool) -> int:
    """Roll store ``st`` back one version and print it."""
    version, commands = execute(lambda: st.rollback(use_sudo=use_sudo))
    data = {"version": version, "link": str(st.link)}
    emit(data, get_options(), text=f"rolled back to {version}", dry_run_commands=commands)
    return pending_exit(True)


def report_cleanup(st, keep: int, force: bool = False) -> int:
    """Clean store ``st`` up keeping ``keep`` versions; print what went."""
    removed, commands = execute(lambda: st.cleanup(keep, force=force))
    opts = get_options()
    verb = "would remove" if opts.dry_run else "removed"
    text = "\n".join(f"{verb} {p}" for p in removed) or "nothing to remove"
    emit({"removed": [str(p) for p in removed]}, opts, text=text, dry_run_commands=commands)
    return pending_exit(bool(removed))
