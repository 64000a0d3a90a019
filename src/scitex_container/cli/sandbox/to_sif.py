"""`scitex-container sandbox to-sif DIR OUT`: convert a sandbox into a SIF (atomically)."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.main import execute, pending_exit
from scitex_container.cli.options import EXISTING_DIR, EXISTING_FILE, TidyPath, common_options
from scitex_container.cli.output import emit


@click.command("to-sif")
@click.argument("sandbox_dir", type=EXISTING_DIR)
@click.argument("output_sif", metavar="OUT", type=TidyPath())
@click.option("--sign", "key", type=EXISTING_FILE, help="Sign it with this PEM key.")
@common_options
def to_sif(sandbox_dir, output_sif, key) -> int:
    """Convert SANDBOX_DIR into a SIF image at OUT (atomically).

    OUT is a SIF path, or an image store: its active link or its directory (as
    `build -o STORE`).  Into a store the SIF becomes a new version and is
    activated (the link points at it), as `build` does.
    """
    from scitex_container.apptainer.sandbox.maintenance import sandbox_to_sif, store_of_output
    from scitex_container.apptainer.store.link import points_at

    store = store_of_output(output_sif)
    path, commands = execute(lambda: sandbox_to_sif(sandbox_dir, output_sif, sign_key=key))
    dry = commands is not None
    # build's keys with build's meaning: `path` the active link (a plain OUT: the SIF),
    # `artifact` the version written, `activated` the link now points at it; `activates`
    # (a kept version reused) is never so here: every run writes a new version
    data: dict = {"path": str(path), "artifact": str(path), "link": None, "version": None}
    data.update(activated=False, activates=False)
    text = f"{'would write' if dry else 'wrote'} {path}"
    if store is not None:
        version = store.scheme.version_of(path.name)
        data.update(path=str(store.link), version=version, link=str(store.link))
        data.update(activated=points_at(store.link, path))
        verb = "would activate" if dry else "activated"
        text = f"{text}; {verb} version {version} ({store.link} -> {path.name})"
    emit(data, get_options(), text=text, dry_run_commands=commands)
    return pending_exit(True)
