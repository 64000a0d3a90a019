"""`lock archive` onto a full disk: a wheel pip cut short is never stored as a
blob (it would be named by its own truncated digest and pass every later
check); the error names the archive, exit 1, nothing of the artifact left."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
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


@pytest.mark.parametrize("left", [0, 8 * 1024])
def test_a_wheel_copied_out_of_the_image_onto_a_full_disk_is_not_stored(
    tmp_path: Path, left: int
) -> None:
    """The image's local wheel copied out by `cp` on a full disk was stored as the
    0-byte blob `e3b0c442...` (the sha256 of no bytes); with room for the wheel but
    not the index, the whole blob stayed without its entry: neither again."""
    from lockimages import archive_rough

    _, image = archive_rough()
    inputs = image.parent / "archive-inputs-v1"
    with mounted_tmpfs(tmp_path / "small", "4m") as point:
        st = os.statvfs(point)
        with open(point / "filler", "wb") as fh:
            os.posix_fallocate(fh.fileno(), 0, st.f_bavail * st.f_frsize - left)
        archive = point / "arc"
        argv = ["lock", "archive", image, "-o", archive, "--from", inputs]
        done = subprocess.run(
            [sys.executable, "-m", "scitex_container", *argv, "--lock-out", tmp_path / "a.lock"],
            capture_output=True,
            text=True,
            env=python_env(),
            timeout=300,
        )
        assert done.returncode == 1, (done.stdout, done.stderr)
        line = done.stderr.strip().splitlines()[-1]
        assert line.startswith(f"error: {archive}"), line
        assert "no space left on device" in line, line
        blobs = list(archive.rglob("sha256/*/*")) if archive.exists() else []
        assert blobs == [], blobs  # neither a 0-byte blob nor a whole one without its index
        assert not (tmp_path / "a.lock").exists()
