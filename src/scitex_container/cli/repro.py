"""`scitex-container repro DEF`: the reproducible round trip; exit 0 reproduced, 1 drift."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.main import execute, pending_exit
from scitex_container.cli.options import (
    EXISTING,
    TidyPath,
    apt_scope_option,
    common_options,
    pip_options_option,
    snapshot_mirror_option,
)
from scitex_container.cli.output import emit


def _seconds(durations: dict) -> str:
    names = {
        "rough_build": "rough build",
        "rough_capture": "capture",
        "archive": "archive",
        "pin": "pin",
        "locked_build": "locked build",
        "locked_capture": "capture",
        "compare": "compare",
    }
    parts = [f"{names[k]} {v:.1f}s" for k, v in durations.items() if k in names]
    total = durations.get("total")
    return ", ".join(parts) + (f" (total {total:.1f}s)" if total is not None else "")


def _drift_lines(diff: dict) -> list[str]:
    lines = []
    a, b = diff.get("a_label", "a"), diff.get("b_label", "b")
    for key, change in sorted((diff.get("changed") or {}).items()):
        old, new = (change.get(a), change.get(b)) if isinstance(change, dict) else change
        lines.append(f"  changed     {key}: {old} -> {new}")
    for key in sorted(diff.get("only_in_a") or []):
        lines.append(f"  missing     {key} (in the lock, not in the rebuild)")
    for key in sorted(diff.get("only_in_b") or []):
        lines.append(f"  extra       {key} (in the rebuild, not in the lock)")
    return lines


def render(result) -> str:
    """The human summary of a :class:`~scitex_container.apptainer.repro.roundtrip.ReproResult`."""
    if result.identical:
        head = f"reproduced: the rebuild from the locked def matches the lock ({result.image.name})"
    else:
        head = f"DRIFT: the rebuild from the locked def differs from the lock: {result.summary}"
    lines = [head]
    if not result.identical:
        lines += _drift_lines(result.diff)
    lines += [
        f"  image       {result.image}",
        f"  rough image {result.rough_image}",
        f"  lock        {result.lock}",
        f"  locked def  {result.locked_def}",
        f"  rough def   {result.rough_def}",
        f"  marker      {result.verified} ({result.status})",
        f"  time        {_seconds(result.durations)}",
    ]
    return "\n".join(lines)


@click.command()
@click.argument("definition", type=EXISTING)
@click.option(
    "-o",
    "--output-dir",
    type=TidyPath(file_okay=False),
    help="Directory of the image stores (default: the def's).",
)
@click.option(
    "-n",
    "--name",
    "image_name",
    help="Image name (default: the def's stem; the rough image is NAME-rough).",
)
@snapshot_mirror_option
@apt_scope_option
@pip_options_option
@click.option(
    "--force", is_flag=True, help="Rebuild both images even if their inputs did not change."
)
@click.option(
    "--archive",
    type=TidyPath(file_okay=False),
    help="Archive the artifacts here, install only from them, rebuild with no network.",
)
@click.option(
    "--locked-def-beside",
    is_flag=True,
    help="Write the locked def beside the rough def (NAME.locked.def) and build it there, "
    "so its %files sources need no rewriting.",
)
@common_options
def repro(
    definition,
    output_dir,
    image_name,
    snapshot_mirror,
    apt_scope,
    pip_options,
    force,
    archive,
    locked_def_beside,
) -> int:
    """Build DEFINITION, lock it, rebuild from the locked def, compare the version sets.

    Given an image (a SIF, sandbox or link) instead of a .def, rebuild it
    from the locked def beside it and compare with the lock beside it.
    """
    from pathlib import Path

    from scitex_container.apptainer.repro.roundtrip import build_reproducible, verify_roundtrip
    from scitex_container.apptainer.sif.header import is_sif
    from scitex_container.cli.progress import progress_line

    opts = get_options()
    path = Path(definition)
    again = path.is_dir() or (path.is_file() and is_sif(path))

    def action():
        if again:
            return verify_roundtrip(
                path,
                output_dir,
                image_name,
                progress=progress,
                command=f"scitex-container repro {definition}",
                offline=archive is not None,
                archive=archive,
            )
        return build_reproducible(
            definition,
            output_dir,
            image_name,
            snapshot_mirror=snapshot_mirror,
            force=force,
            progress=progress,
            apt_scope=apt_scope,
            pip_options=list(pip_options) or None,
            archive=archive,
            locked_def_beside=locked_def_beside,
        )

    with progress_line(opts, f"round trip of {definition}") as progress:
        result, commands = execute(action)
    if commands is not None:
        emit(
            result,
            opts,
            text="dry run: the round trip needs the rough image; stopped after it",
            dry_run_commands=commands,
        )
        return pending_exit(bool(commands) or not result.identical)
    emit(result, opts, text=render(result))
    return 0 if result.identical else 1
