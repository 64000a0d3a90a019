"""`sandbox to-sif` of a directory that is no sandbox (empty, or an image store)
is refused like every other command (exit 2), and nothing is written."""

from __future__ import annotations

import os

import pytest
from storekit import make_sif


@pytest.mark.apptainer
def test_an_empty_directory_is_not_a_sandbox(sx, tmp_path) -> None:
    (tmp_path / "empty").mkdir()
    ran = sx("sandbox", "to-sif", tmp_path / "empty", tmp_path / "out.sif")
    assert ran.code == 2, (ran.out, ran.err)
    assert "is not a sandbox image" in ran.err, ran.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty"]


@pytest.mark.apptainer
def test_an_image_store_is_not_a_sandbox(sx, tmp_path) -> None:
    store = tmp_path / "img"
    store.mkdir()
    make_sif(store / "img-v20260101T000000Z.sif")
    os.symlink("img-v20260101T000000Z.sif", store / "img.sif")
    ran = sx("sandbox", "to-sif", store, tmp_path / "out.sif")
    assert ran.code == 2, (ran.out, ran.err)
    assert "is an image store" in ran.err, ran.err
    assert not (tmp_path / "out.sif").exists()
