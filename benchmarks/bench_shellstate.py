"""The stage cache's shell-state check (issue 22): the cost of the prologue and epilogue
that wrap each ``%post`` piece before a checkpoint, run by the real shells.

Each case runs one short piece (``echo one > one``) the way apptainer runs
``%post`` (``/bin/sh -e -x`` for dash and busybox, ``bash`` for ``%post -c
/bin/bash``), once wrapped as the first of two pieces (prologue, piece,
epilogue: every comparison the check makes) and once bare; the notes give
the difference in milliseconds, which is what the check adds to each stage
(an ``apptainer build`` of a stage takes seconds, so the ratio itself is
context).  No target: reported.
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
PIECE = "echo one > one\n"


def cases(runs: int = 5):
    from scitex_container.apptainer.cache import shellstate

    work = Path(tempfile.mkdtemp(prefix="bench-shellstate-"))
    try:
        marker = work / shellstate.MARKER.lstrip("/")
        wrapped = work / "wrapped.sh"
        text = shellstate.wrap(PIECE, 1, 2).replace(shellstate.MARKER, str(marker))
        wrapped.write_text(text)
        bare = work / "bare.sh"
        bare.write_text(PIECE)
        for name, argv in SHELLS.items():
            if shutil.which(argv[0]) is None:
                continue

            def run(script: Path, argv: list[str] = argv) -> None:
                done = subprocess.run([*argv, str(script)], cwd=work, capture_output=True)
                if done.returncode != 0:
                    raise RuntimeError(done.stderr.decode(errors="replace")[-300:])

            row = compare(
                f"checkpoint state check, one piece ({name})",
                lambda run=run: run(wrapped),
                lambda run=run: run(bare),
                runs=max(runs, 20),
            )
            row.notes["added_ms"] = round((row.ours_median_s - row.raw_median_s) * 1000, 1)
            yield row
    finally:
        shutil.rmtree(work, ignore_errors=True)
