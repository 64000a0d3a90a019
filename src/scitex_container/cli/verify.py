"""`scitex-container verify`: an image against its def and its lock; exit 1 on fail."""

from __future__ import annotations

import click

from scitex_container.cli.context import common_options, get_options
from scitex_container.cli.main import execute
from scitex_container.cli.output import emit


@click.command()
@click.argument("image", type=click.Path())
@click.option(
    "--def",
    "def_path",
    type=click.Path(dir_okay=False),
    help="The .def that should have built IMAGE.",
)
@click.option(
    "--lock-dir",
    type=click.Path(file_okay=False),
    help="Directory with the lock (default: the .lock sidecar, else the lock in the image).",
)
@common_options
def verify(image: str, def_path: str | None, lock_dir: str | None) -> int:
    """Verify IMAGE: sha256, def origin and installed versions against its lock."""
    from scitex_container.apptainer.lock.verify_image import verify as verify_fn

    opts = get_options()
    result, commands = execute(lambda: verify_fn(image, def_path, lock_dir))
    if opts.json:
        emit(result, opts, dry_run_commands=commands)
    else:
        sif = result["sif"]
        lines = [f"image       {sif['path']}  sha256 {sif['sha256'] or '-'}"]
        source = result.get("lock_source", {})
        if source.get("kind") not in (None, "none"):
            lines.append(f"lock from   {source['kind']}: {source['path']}")
        keys = ("integrity", "def_origin", "lock_origin", "pip_lock", "dpkg_lock", "node_lock")
        for key in (*keys, "apk_lock"):
            if key in result:
                check = result[key]
                lines.append(f"{key:<11} {check['status']:<5} {check['detail']}")
        lines.append(f"overall     {result['overall']}")
        click.echo("\n".join(lines))
    return 0 if result["overall"] == "pass" else 1
