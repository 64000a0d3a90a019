"""Host package checks and mount planning.

* ``check_packages`` with nothing installed (PATH holds none of the tools):
  at most 300 ms, in-process and as the whole ``host check`` command.
* ``check_packages`` with both groups installed, against the raw version
  probes run one after the other (ours runs the groups in parallel).
* ``get_mount_config`` for TeX Live and ImageMagick in a fresh process
  (about 140 loader listings) - reported, target 1.5 s.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from harness import absolute, compare

VENV_BIN = Path(sys.executable).parent


def _without_tools(action):
    empty = tempfile.mkdtemp(prefix="bench-host-")

    def run():
        old = os.environ.get("PATH", "")
        os.environ["PATH"] = empty
        try:
            return action()
        finally:
            os.environ["PATH"] = old

    return run


def cases(runs: int = 5):
    from scitex_container.host.check import check_packages

    yield absolute(
        "check_packages, nothing installed (in-process)",
        _without_tools(check_packages),
        runs=runs,
        max_seconds=0.3,
        target="<= 300 ms",
    )
    empty = tempfile.mkdtemp(prefix="bench-host-")
    yield absolute(
        "host check CLI, nothing installed",
        _cli_nothing(empty),
        runs=runs,
        max_seconds=0.3,
        target="<= 300 ms",
    )
    pdftex, convert = shutil.which("pdftex"), shutil.which("convert")
    if pdftex and convert:
        yield compare(
            "check_packages, installed vs raw version probes",
            check_packages,
            ["sh", "-c", f"{pdftex} --version >/dev/null; {convert} -version >/dev/null"],
            runs=runs,
            max_ratio=1.5,
            target="<= 1.5x",
        )
        root = tempfile.mkdtemp(prefix="bench-host-launchers-")
        code = (
            "from scitex_container.host import get_mount_config; "
            f"get_mount_config('', '', imagemagick_prefix='', wrapper_root={root!r})"
        )
        yield absolute(
            "get_mount_config texlive+imagemagick (fresh process)",
            [sys.executable, "-c", code],
            runs=runs,
            max_seconds=1.5,
            target="<= 1.5 s",
        )


def _cli_nothing(empty: str):
    """The console command as a user runs it, with PATH holding none of the tools."""
    import subprocess

    argv = [str(VENV_BIN / "scitex-container"), "host", "check"]
    env = {**os.environ, "PATH": empty}

    def run():
        done = subprocess.run(
            argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
        )
        if done.returncode not in (0, 1):
            raise RuntimeError(f"host check exited {done.returncode}")

    return run
