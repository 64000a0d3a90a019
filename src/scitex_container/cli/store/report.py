"""What the store commands share (also used by `sandbox switch|rollback|cleanup`).

STORE is a store directory (the reference's flat layout with current.sif,
or an image directory written by `build`, e.g. OUT/NAME), its active link
or any version file in it; it defaults to the containers directory.  A
directory holding several images (a deploy target) is one store per image.
"""

from __future__ import annotations

import functools
from collections.abc import Container
from pathlib import Path

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.main import execute, pending_exit
from scitex_container.cli.output import emit
from scitex_container.cli.output import note as say_note

VERSION_COLUMNS = ["version", "active", "protected", "size", "date", "path"]


def open_stores(store, sandbox: bool = False, *, changes: bool = False) -> list:
    """Every store ``store`` names (default: the containers directory), saying how it was read.

    An empty directory is said in one line (:func:`say_empty`): a note for a listing, a
    refusal (exit 2, before anything is made) for a command that ``changes`` the store.
    """
    from scitex_container.apptainer.deffile.lookup import find_containers_dir
    from scitex_container.apptainer.store.opening import open_stores as open_fn
    from scitex_container.apptainer.store.opening import resolved_note

    location = store if store is not None else find_containers_dir()
    stores = open_fn(location, sandbox=sandbox)
    if len(stores) == 1:
        say_empty(stores[0].dir, stores[0].scheme, changes=changes)
    note = resolved_note(location, stores[0]) if len(stores) == 1 else None
    if note and not get_options().json:
        say_note(note)
    return stores


def say_empty(directory, scheme, *, changes: bool) -> None:
    """An empty directory as a store: "DIR is empty: no image yet (...)", one line for every
    store command; a note on stderr for a listing, StoreStateError (exit 2) for a change."""
    from scitex_container.apptainer.store.link import empty_line
    from scitex_container.errors import StoreStateError

    line = empty_line(directory, scheme)
    if line is None:
        return
    if changes:
        raise StoreStateError(line)
    say_note(line)


def open_store(store, sandbox: bool = False, *, changes: bool = False):
    """The one store ``store`` names; a directory of several images is refused naming them."""
    from scitex_container.apptainer.deffile.lookup import find_containers_dir
    from scitex_container.apptainer.store.opening import open_one_store

    stores = open_stores(store, sandbox, changes=changes)  # says how a version path was taken
    if len(stores) == 1:
        return stores[0]
    return open_one_store(store if store is not None else find_containers_dir(), sandbox)


def report_switch(st, version: str, use_sudo: bool) -> int:
    """Switch store ``st`` to ``version`` and print where its link points."""
    was_active = st.get(version).active
    row, commands = execute(lambda: st.switch(version, use_sudo=use_sudo))
    data = {"version": row.version, "path": str(row.path), "link": str(st.link)}
    name = row.path.name
    if commands is not None:
        text = (
            f"already active: {st.link} -> {name}"
            if was_active
            else f"would point {st.link} at {name}"
        )
    else:
        text = f"{st.link} -> {name}"
    emit(data, get_options(), text=text, dry_run_commands=commands)
    return pending_exit(not was_active)


def report_rollback(st, use_sudo: bool) -> int:
    """Roll store ``st`` back one version and print it."""
    version, commands = execute(lambda: st.rollback(use_sudo=use_sudo))
    data = {"version": version, "path": str(st.get(version).path), "link": str(st.link)}
    text = f"would roll back to {version}" if commands is not None else f"rolled back to {version}"
    emit(data, get_options(), text=text, dry_run_commands=commands)
    return pending_exit(True)


def report_cleanup(stores, keep: int, force: bool = False) -> int:
    """Clean each store up keeping ``keep`` versions of each; print what went."""
    if not isinstance(stores, list):
        stores = [stores]
    from scitex_container.errors import CleanupIncompleteError, ScitexError

    removed: list = []
    commands: list[str] | None = None
    failed: list[ScitexError] = []
    for st in stores:  # one image that cannot be cleaned never stops the others
        if _holds_no_store(st):  # nothing of ours: never lock it (no `.scitex/` made there)
            from scitex_container.apptainer.store.access import require_writable

            require_writable(st.dir)  # refused alike wherever the caller cannot write
            continue
        try:
            gone, cmds = execute(functools.partial(st.cleanup, keep, force=force))
        except ScitexError as exc:
            if len(stores) == 1 and not isinstance(exc, CleanupIncompleteError):
                raise
            removed += getattr(exc, "removed", ())
            failed.append(exc)
            continue
        removed += gone
        if cmds is not None:
            commands = [*(commands or []), *cmds]
    opts = get_options()
    verb = "would remove" if opts.dry_run else "removed"
    gone = {str(p) for p in removed}
    text = "\n".join(f"{verb} {p}{_what(p, gone)}" for p in removed) or "nothing to remove"
    if failed:  # what went first, then why the rest stayed (exit code of the first cause)
        if not opts.json and removed:
            click.echo(text)
        message = "; ".join(str(e) for e in failed)
        raise CleanupIncompleteError(message, removed, failed[0].exit_code)
    emit({"removed": [str(p) for p in removed]}, opts, text=text, dry_run_commands=commands)
    return pending_exit(bool(removed))


def _holds_no_store(st) -> bool:
    """No version, no active link and no hidden state folder: the directory holds no store
    (a killed build leaves its scratch under the state folder, made before anything else)."""
    import os

    from scitex_container.apptainer.store.state import STATE_DIR

    if st.version_names() or os.path.lexists(st.link):
        return False
    return not os.path.lexists(st.dir / STATE_DIR)


def _what(path, removed: Container[str] = ()) -> str:
    """What a removed path was, when its name does not say it.

    A ``.build.log`` is an orphan (a build that never published) only when
    the version it belongs to is not among the ``removed`` paths (and not on disk).
    """
    from scitex_container.apptainer.store.sidecars import LOG_SUFFIX

    text = str(path)
    if text.endswith(LOG_SUFFIX):
        version = text[: -len(LOG_SUFFIX)]
        if version in removed or Path(version).exists():
            return ""
        return " (the log of a build that never published a version)"
    if path.name.startswith("."):
        return " (left by a killed command)"
    return ""
