"""`scitex-container lock archive IMAGE_OR_LOCK -o DIR`: keep the lock's artifacts.

Attached to the ``lock`` group by ``cli/lock.py`` (``lock.add_command(archive)``).
"""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.main import execute, pending_exit
from scitex_container.cli.options import EXISTING, TidyPath, common_options
from scitex_container.cli.output import emit


@click.command("archive")
@click.argument("source", metavar="IMAGE_OR_LOCK", type=EXISTING)
@click.option(
    "-o",
    "--output",
    "out_dir",
    required=True,
    type=TidyPath(file_okay=False),
    help="The archive directory (created; shared by many images).",
)
@click.option(
    "--lock-out",
    type=TidyPath(dir_okay=False),
    help="Where to write the lock with artifact hashes, - for stdout "
    "(default: the lock given, or DIR/locks/<image>.lock).",
)
@click.option("--python-version", help="Python of the wheels (default: the image's).")
@click.option(
    "--platform",
    "platforms",
    multiple=True,
    metavar="TAG",
    help="pip platform tag of the wheels (repeat; default: the image's).",
)
@click.option(
    "--from",
    "saved_dirs",
    multiple=True,
    type=TidyPath(file_okay=False, exists=True),
    help="A directory of saved .deb files and wheels, for versions no source has any more "
    "(repeat).",
)
@click.option(
    "--verify",
    is_flag=True,
    help="Re-check the sha256 of every stored file (default: sizes and a sample); "
    "a damaged one is fetched again and replaced.",
)
@common_options
def archive(source, out_dir, lock_out, python_version, platforms, saved_dirs, verify) -> int:
    """Fetch, verify and store every .deb, wheel and npm tarball the lock names."""
    from scitex_container.apptainer.lock.archive import archive_lock
    from scitex_container.cli.progress import progress_line

    opts = get_options()
    if out_dir is not None:  # a directory the caller cannot write in: refused by a dry run too
        from pathlib import Path

        from scitex_container.apptainer.store.access import require_writable

        require_writable(Path(out_dir))
    with progress_line(opts, f"archiving the lock of {source}", phase="archive"):
        result, commands = execute(
            lambda: archive_lock(
                source,
                out_dir,
                lock_out=lock_out,
                python_version=python_version,
                platforms=tuple(platforms) or None,
                saved_dirs=tuple(saved_dirs),
                verify=verify,
            )
        )
    repaired = f"; {len(result.repaired)} damaged and replaced" if result.repaired else ""
    if commands is not None:
        text = (
            f"would fetch {result.fetched_count} artifacts into {result.archive} "
            f"({result.reused_count} already there{repaired.replace('and replaced', 'to replace')})"
        )
        made = [f"would {'create' if p == result.archive else 'write'} {p}" for p in result.writes]
        text = "\n".join([text, *made])
    else:
        text = (
            f"archived {len(result.artifacts)} artifacts in {result.archive} "
            f"({result.fetched_count} fetched, {result.reused_count} already there{repaired}); "
            f"lock: {result.lock_path}"
        )
    emit(result, opts, text=text, dry_run_commands=commands, stdout_taken=lock_out == "-")
    return pending_exit(result.fetched_count > 0 or bool(result.repaired) or bool(result.writes))
