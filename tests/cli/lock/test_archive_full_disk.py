"""`lock archive` onto a full disk: a wheel pip cut short is never stored as a
blob (it would be named by its own truncated digest and pass every later
check); the error names the archive, exit 1, nothing of the artifact left."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from storekit import python_env
from tmpfs import mounted_tmpfs

LOCK = "# scitex-container lock\n[pip]\nsix==1.16.0\n[dpkg]\n[node]\n"  # an 11053-byte wheel


def test_a_wheel_cut_short_by_a_full_disk_is_not_stored(tmp_path: Path) -> None:
    lock = tmp_path / "p.lock"
    lock.write_text(LOCK)
    with mounted_tmpfs(tmp_path / "small", "4m") as point:
        st = os.statvfs(point)
        with open(point / "filler", "wb") as fh:  # 10 KiB left: less than the wheel
            os.posix_fallocate(fh.fileno(), 0, st.f_bavail * st.f_frsize - 10 * 1024)
        archive = point / "arc"
        done = subprocess.run(
            [sys.executable, "-m", "scitex_container", "lock", "archive", lock, "-o", archive],
            capture_output=True,
            text=True,
            env=python_env(),
            timeout=300,
        )
        assert done.returncode == 1, (done.stdout, done.stderr)
        line = done.stderr.strip().splitlines()[-1]
        assert line.startswith(f"error: {archive}: no space left on device"), line
        assert ".fetch-" not in line
        left = [p for p in archive.rglob("*") if p.is_file()] if archive.exists() else []
        assert left == [] or all(p.name in ("index.json", ".index.lock") for p in left), left
        assert lock.read_text() == LOCK  # the lock is left as it was
