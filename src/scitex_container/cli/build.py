"""`scitex-container build`: build a .def into a SIF image or sandbox."""

from __future__ import annotations

import time

import click

from .context import common_options, get_options
from .main import execute
from .output import emit


@click.command()
@click.argument("definition")
@click.option("-o", "--output-dir", type=click.Path(file_okay=False), help="Directory of the per-image subdirectory.")
@click.option("-n", "--name", "image_name", help="Image name (default: the .def's stem).")
@click.option("--sandbox", is_flag=True, help="Build a sandbox directory instead of a SIF.")
@click.option("--force", is_flag=True, help="Rebuild even if the inputs did not change.")
@click.option("--fakeroot/--no-fakeroot", default=None, help="Override the automatic --fakeroot choice.")
@click.option("--sudo", "use_sudo", is_flag=True, help="Run apptainer through sudo.")
@common_options
def build(definition, output_dir, image_name, sandbox, force, fakeroot, use_sudo) -> None:
    """Build DEFINITION (a .def path, or a name in the containers directory)."""
    from pathlib import Path

    from ..apptainer.build import build as build_fn
    from .progress import progress_line

    opts = get_options()
    is_path = definition.endswith(".def") or "/" in definition
    kwargs = dict(
        output_dir=output_dir, force=force, sandbox=sandbox, image_name=image_name,
        use_sudo=use_sudo, fakeroot=fakeroot,
    )
    if is_path:
        kwargs["def_path"] = Path(definition)
    else:
        kwargs["def_name"] = definition
    start = time.monotonic()
    with progress_line(opts, f"building {definition}") as progress:
        path, commands = execute(lambda: build_fn(progress=progress, **kwargs))
    elapsed = time.monotonic() - start
    result = {"path": str(path), "seconds": round(elapsed, 3)}
    emit(result, opts, text=f"built {path} in {elapsed:.1f}s", dry_run_commands=commands)
