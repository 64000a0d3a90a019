"""A site policy at the real default path, visible to one command only.

``/etc/scitex-container`` is covered, in a private mount namespace made for
one command (``unshare --mount``), by a bind mount of a staged directory
the test prepared (root-owned, or owned as the test wants).  Nothing is
written under ``/etc``: the mount and its policy vanish with the command,
even if the test is killed.  The mount point itself (an empty directory)
is created once when missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

SITE_DIR = Path("/etc/scitex-container")


def require_unshare() -> None:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("a private mount namespace needs root and unshare")


def stage_dir() -> Path:
    """A root-owned 0755 directory under /var/tmp that becomes ``/etc/scitex-container``."""
    path = Path(tempfile.mkdtemp(prefix="scitex-site-policy-", dir="/var/tmp"))
    os.chmod(path, 0o755)
    return path


def with_site_dir(stage: Path, argv: list[str]) -> list[str]:
    """``argv`` run with ``stage`` mounted at ``/etc/scitex-container`` (its own namespace)."""
    if not SITE_DIR.exists():
        SITE_DIR.mkdir(mode=0o755, exist_ok=True)  # an empty mount point; never a policy
    script = 'mount --bind -- "$1" "$2" && shift 2 && exec "$@"'
    return [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "--",
        "sh",
        "-c",
        script,
        "sh",
        str(stage),
        str(SITE_DIR),
        *argv,
    ]


def run_with_site_dir(
    stage: Path, argv: list[str], *, cwd: Path | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    return subprocess.run(
        with_site_dir(stage, argv), capture_output=True, text=True, cwd=cwd, timeout=timeout
    )
