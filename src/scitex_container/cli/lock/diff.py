"""`scitex-container lock diff A B`: compare two locks (read-only; exit 1 when they differ).

Read-only: `--dry-run` is accepted and changes nothing; the exit code is the
comparison's either way.
"""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.options import EXISTING, common_options
from scitex_container.cli.output import emit


def _lock_or_image(value: str):
    """A lock file is read; a SIF or sandbox is captured on the fly."""
    from pathlib import Path

    from scitex_container.apptainer.lock.capture import capture_lock
    from scitex_container.apptainer.lock.lockfile import read_lock
    from scitex_container.apptainer.sif.header import is_sif
    from scitex_container.process import runner

    path = Path(value)
    if path.is_file() and not is_sif(path):
        return read_lock(path)
    if get_options().dry_run:  # capturing is read-only; caches are not written
        with runner.dry_run():
            return capture_lock(path, captured_at="")
    return capture_lock(path, captured_at="")


@click.command("diff")
@click.argument("a", type=EXISTING)
@click.argument("b", type=EXISTING)
@common_options
def diff(a: str, b: str) -> int:
    """Compare two locks (lock files or images); exit 1 when they differ."""
    from scitex_container.apptainer.lock.compare import compare_locks

    opts = get_options()
    result = compare_locks(_lock_or_image(a), _lock_or_image(b), a_label=a, b_label=b)
    if opts.json:
        emit(result, opts)
    else:
        lines = [result.detail()]
        for key, (va, vb) in sorted(result.changed.items()):
            lines.append(f"~ {key}: {va} -> {vb}")
        lines += [f"- {key}={v}" for key, v in sorted(result.only_in_a.items())]
        lines += [f"+ {key}={v}" for key, v in sorted(result.only_in_b.items())]
        click.echo("\n".join(lines))
    return 0 if result.identical else 1
