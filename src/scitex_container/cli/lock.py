"""`scitex-container lock`: capture, compare and freeze package locks (and pin, see below)."""

from __future__ import annotations

import click

from scitex_container.cli.context import common_options, get_options
from scitex_container.cli.main import execute
from scitex_container.cli.output import emit, info


def _lock_or_image(value: str):
    """A lock file is read; a SIF or sandbox is captured on the fly."""
    from pathlib import Path

    from scitex_container.apptainer.lock.capture import capture_lock
    from scitex_container.apptainer.lock.lockfile import read_lock
    from scitex_container.apptainer.sif.header import is_sif

    path = Path(value)
    if path.is_file() and not is_sif(path):
        return read_lock(path)
    return capture_lock(path, captured_at="")


@click.group()
def lock() -> None:
    """Capture, pin and compare package locks."""


@lock.command("capture")
@click.argument("image", type=click.Path())
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="Write the lock here (default: print it).",
)
@click.option(
    "--method",
    type=click.Choice(["auto", "static", "exec"]),
    default="auto",
    show_default=True,
    help="static reads the image's files; exec runs the tools inside it once.",
)
@click.option("--no-date", is_flag=True, help="Leave the capture date out (byte-stable output).")
@common_options
def capture(image: str, output: str | None, method: str, no_date: bool) -> None:
    """Capture the exact pip, dpkg, npm (and apk) versions installed in IMAGE."""
    from scitex_container.apptainer.lock.capture import capture_lock
    from scitex_container.apptainer.lock.lockfile import render_lock

    opts = get_options()
    result, commands = execute(
        lambda: capture_lock(image, output, method=method, captured_at="" if no_date else None)
    )
    if output is None and not opts.json:
        click.echo(render_lock(result), nl=False)
        return
    counts = ", ".join(f"{n} {k}" for k, n in result.counts().items() if n or k != "apk")
    verb = "would write" if commands is not None else "wrote"
    emit(result, opts, text=f"{verb} {output} ({counts})", dry_run_commands=commands)


@lock.command("diff")
@click.argument("a", type=click.Path(exists=True))
@click.argument("b", type=click.Path(exists=True))
@common_options
def diff(a: str, b: str) -> int:
    """Compare two locks (lock files or images); exit 1 when they differ."""
    from scitex_container.apptainer.lock.compare import compare_locks

    opts = get_options()
    result = compare_locks(_lock_or_image(a), _lock_or_image(b), a_label=a, b_label=b)
    if opts.json:
        emit(result, opts)
    else:
        lines = [result.summary()]
        for key, (va, vb) in sorted(result.changed.items()):
            lines.append(f"~ {key}: {va} -> {vb}")
        lines += [f"- {key}={v}" for key, v in sorted(result.only_in_a.items())]
        lines += [f"+ {key}={v}" for key, v in sorted(result.only_in_b.items())]
        click.echo("\n".join(lines))
    return 0 if result.identical else 1


@lock.command("freeze")
@click.argument("image", type=click.Path(exists=True))
@click.option(
    "-o",
    "--output-dir",
    type=click.Path(file_okay=False),
    help="Directory for the lock files (default: beside the image).",
)
@common_options
def freeze_cmd(image: str, output_dir: str | None) -> None:
    """Write requirements-lock.txt, dpkg-lock.txt and node-lock.txt for IMAGE."""
    from scitex_container.apptainer.lock.capture import freeze

    opts = get_options()
    paths, commands = execute(lambda: freeze(image, output_dir))
    if not opts.json:
        info(f"froze {len(paths)} lock files", opts)
    emit({k: str(v) for k, v in paths.items()}, opts, dry_run_commands=commands)


# --- `lock pin DEF LOCK` (generate_locked_def) is added below by the round-trip work ---
from scitex_container.cli.lock_pin import pin  # noqa: E402

lock.add_command(pin)

# --- `lock archive IMAGE_OR_LOCK -o DIR` (artifact archive) ---
from scitex_container.cli.lock_archive import archive  # noqa: E402

lock.add_command(archive)
