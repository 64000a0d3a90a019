"""The stage cache's shell-state hand-over (issue 22): the cost of the prologue and
epilogue that wrap the ``%post`` pieces around a checkpoint, run by the real shells.

Each case runs two short pieces (``export V=1; cd d``, then ``echo one > one``)
the way apptainer runs ``%post`` (``/bin/sh -e -x`` for dash and busybox,
``bash`` for ``%post -c /bin/bash``), each in its own shell: once wrapped as
pieces 1 and 2 of two (the epilogue's check and save, the next prologue's
restore and comparison) and once bare; the notes give the difference in
milliseconds, which is what one checkpoint adds to a build (an ``apptainer
build`` of a stage takes seconds, so the ratio itself is context).  No target:
reported.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from harness import compare

SHELLS = {
    "dash": ["dash", "-e", "-x"],
    "bash": ["bash"],
    "busybox sh": ["busybox", "sh", "-e", "-x"],
}
PIECES = ("export V=1; mkdir -p d; cd d\n", "echo one > one\n")


def cases(runs: int = 5):
    from scitex_container.apptainer.cache import shellstate

    work = Path(tempfile.mkdtemp(prefix="bench-shellstate-"))
    try:
        scripts = []
        for index, piece in enumerate(PIECES, 1):
            text = shellstate.wrap(piece, index, len(PIECES))
            wrapped = work / f"wrapped{index}.sh"
            wrapped.write_text(text.replace(shellstate.MARKER, f"{work}{shellstate.MARKER}"))
            bare = work / f"bare{index}.sh"
            bare.write_text(piece)
            scripts.append((wrapped, bare))
        for name, argv in SHELLS.items():
            if shutil.which(argv[0]) is None:
                continue

            def run(pick: int, argv: list[str] = argv) -> None:
                for pair in scripts:
                    done = subprocess.run([*argv, str(pair[pick])], cwd=work, capture_output=True)
                    if done.returncode != 0:
                        raise RuntimeError(done.stderr.decode(errors="replace")[-300:])

            row = compare(
                f"checkpoint state hand-over, two pieces ({name})",
                lambda run=run: run(0),
                lambda run=run: run(1),
                runs=max(runs, 20),
            )
            row.notes["added_ms"] = round((row.ours_median_s - row.raw_median_s) * 1000, 1)
            yield row
    finally:
        shutil.rmtree(work, ignore_errors=True)
