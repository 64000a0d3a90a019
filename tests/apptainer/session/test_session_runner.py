"""runner.run(interactive=True), which attach uses: our stdin, our process group."""

from __future__ import annotations

import subprocess
import sys

CHILD = (
    """
import os, sys
from scitex_container.process import runner
print("parent-pgid", os.getpgid(0), flush=True)
done = runner.run([sys.executable, "-c",
                   "import os, sys; print('child-pgid', os.getpgid(0)); """
    """print(sys.stdin.read().upper())"],
                  interactive=True, check=False)
print("rc", done.returncode, repr(done.stdout))
"""
)


def test_interactive_run_hands_over_stdin_and_stays_in_our_group() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD],
        input="piped words",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    parent = lines[0].split()[1]
    assert lines[1] == f"child-pgid {parent}"
    assert lines[2] == "PIPED WORDS"
    assert lines[3] == "rc 0 ''"
