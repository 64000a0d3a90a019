"""A dry run against its real run: what changed on disk, and a refusal made alike."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

from clirun import cli


def tree(top: Path) -> dict[str, tuple]:
    """Every path under ``top`` with what could change: kind, size, mtime, link target."""
    out: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            link = os.readlink(p) if os.path.islink(p) else None
            out[os.path.relpath(p, top)] = (st.st_mode, st.st_size, st.st_mtime_ns, link)
    return out


def fails_alike(
    top: Path,
    args: list[object],
    runner: Callable[..., subprocess.CompletedProcess] = cli,
) -> dict:
    """A dry run of a command the real run refuses: the same refusal, in the dry-run shape.

    The dry run goes first and must leave ``top`` as it was; both end with the
    same exit code (never 1, which a dry run keeps for "would change") and the
    same ``error:`` line.  Returns the real run's JSON error.
    """
    before = tree(top)
    dry = runner("--json", "--dry-run", *args)
    assert tree(top) == before, f"--dry-run {args} changed something"
    real = runner("--json", *args)
    assert real.returncode not in (0, 1), (args, real.returncode, real.stderr)
    assert (dry.returncode, dry.stderr) == (real.returncode, real.stderr), args
    assert not re.search(r"^would ", dry.stdout, re.M), (args, dry.stdout)
    error = json.loads(real.stdout.splitlines()[-1])
    shape = {"dry_run": True, "result": None, "dry_run_commands": [], **error}
    assert json.loads(dry.stdout.splitlines()[-1]) == shape, (args, dry.stdout)
    text = runner("--dry-run", *args)
    assert (text.returncode, text.stderr, text.stdout) == (real.returncode, real.stderr, ""), args
    return error
