"""A full disk during `pull`'s transfer: the one error contract, nothing left behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from tmpfs import fill, mounted_tmpfs
from travel import repo

pytestmark = [pytest.mark.apptainer, pytest.mark.registry]


@pytest.fixture()
def small_fs(tmp_path: Path):
    """A 4 MiB tmpfs with only 256 KiB free: less than the busybox SIF."""
    with mounted_tmpfs(tmp_path / "small", "4m") as point:
        fill(point, 256 * 1024, exact=True)
        yield point


def test_a_full_disk_during_the_transfer_is_one_line_exit_1(images, cli, small_fs) -> None:
    _, _, sifs = images
    assert sifs["unsigned"].stat().st_size > 256 * 1024
    ref = repo("full") + ":v1"
    pushed = cli("push", sifs["unsigned"], ref)
    assert pushed.returncode == 0, pushed.stderr
    out = small_fs / "images"
    done = cli("pull", ref, "-o", out, "--name", "app")
    [line] = done.stderr.splitlines()
    assert done.returncode == 1, done  # a full disk is exit 1 in every command
    assert line == f"error: {out / 'app'}: no space left on device", line  # never .scitex/tmp
    assert "Errno" not in line and "transfer failed" not in line
    code, err = cli.json("pull", ref, "-o", out, "--name", "app")
    assert code == 1 and "no space left on device" in err["error"], err
    left = [p for p in (out / "app").rglob("*") if p.is_file() and "flock" not in p.name]
    assert left == [], left


def test_a_full_disk_during_a_bundle_import_names_the_output(images, cli, small_fs, tmp_path):
    import shutil

    _, _, sifs = images
    store = tmp_path / "site-a" / "app"
    store.mkdir(parents=True)
    shutil.copy(sifs["unsigned"], store / "app-v20261201T000000Z.sif")
    (store / "app.sif").symlink_to("app-v20261201T000000Z.sif")
    bundle = tmp_path / "app.bundle"
    assert cli("bundle", "export", store, "-o", bundle).returncode == 0
    out = small_fs / "images"
    done = cli("bundle", "import", bundle, "-o", out)
    assert done.returncode == 1, done
    [line] = done.stderr.splitlines()
    assert line == f"error: {out / 'app'}: no space left on device", line
    left = [p for p in (out / "app").rglob("*") if p.is_file() and "flock" not in p.name]
    assert left == [], left
