"""`lock archive` onto a full disk: a wheel pip cut short is never stored as a
blob (it would be named by its own truncated digest and pass every later
check); the error names the archive, exit 1, nothing of the artifact left."""

from __future__ import annotations

from pathlib import Path

import pytest
from clirun import checkout_cli
from tmpfs import fill, mounted_tmpfs

LOCK = "# scitex-container lock\n[pip]\nsix==1.16.0\n[dpkg]\n[node]\n"  # an 11053-byte wheel


def _archive_fails(point: Path, left: int, source: Path, *more: object) -> tuple[Path, str]:
    """`lock archive SOURCE -o POINT/arc MORE` with ``left`` bytes free on ``point``: it
    must fail with exit 1; returns the archive's path and the last line of the error."""
    fill(point, left, exact=True)
    archive = point / "arc"
    done = checkout_cli("lock", "archive", source, "-o", archive, *more)
    assert done.returncode == 1, (done.stdout, done.stderr)
    return archive, done.stderr.strip().splitlines()[-1]


def test_a_wheel_cut_short_by_a_full_disk_is_not_stored(tmp_path: Path) -> None:
    lock = tmp_path / "p.lock"
    lock.write_text(LOCK)
    with mounted_tmpfs(tmp_path / "small", "4m") as point:
        archive, line = _archive_fails(point, 10 * 1024, lock)  # less than the wheel
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
        more = ("--from", inputs, "--lock-out", tmp_path / "a.lock")
        archive, line = _archive_fails(point, left, image, *more)
        assert line.startswith(f"error: {archive}"), line
        assert "no space left on device" in line, line
        blobs = list(archive.rglob("sha256/*/*")) if archive.exists() else []
        assert blobs == [], blobs  # neither a 0-byte blob nor a whole one without its index
        assert not (tmp_path / "a.lock").exists()
