"""`sandbox to-sif` says that it activates, takes a store directory as `build -o` does."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from clirun import cli
from storekit import make_sif

STAMP = "20261206T140148Z"


@pytest.mark.apptainer
def test_to_sif_into_a_store_directory_writes_and_activates_a_version_and_says_so(
    tmp_path: Path, busybox_sif: Path
) -> None:
    store = tmp_path / "demo"
    store.mkdir()
    make_sif(store / f"demo-v{STAMP}.sif", base=busybox_sif)
    os.symlink(f"demo-v{STAMP}.sif", store / "demo.sif")
    sandbox = tmp_path / "sb"
    assert cli("sandbox", "create", busybox_sif, "-o", sandbox).returncode == 0

    dry = cli("--dry-run", "sandbox", "to-sif", sandbox, store)
    assert dry.returncode == 1, dry.stderr
    assert "would activate version" in dry.stdout, dry.stdout
    assert os.readlink(store / "demo.sif") == f"demo-v{STAMP}.sif"

    made = cli("--json", "sandbox", "to-sif", sandbox, store)  # the directory, as build -o
    assert made.returncode == 0, made.stderr
    data = json.loads(made.stdout)
    new = Path(data["artifact"])  # build's keys, build's meaning
    assert new.parent == store and new.name == f"demo-v{data['version']}.sif", data
    assert data["path"] == data["link"] == str(store / "demo.sif"), data
    assert data["activated"] is True and data["activates"] is False, data
    assert os.readlink(store / "demo.sif") == new.name

    said = cli("sandbox", "to-sif", sandbox, store / "demo.sif")  # the link: the same words
    assert said.returncode == 0, said.stderr
    newest = os.readlink(store / "demo.sif")
    assert f"activated version {newest.removeprefix('demo-v').removesuffix('.sif')}" in said.stdout

    plain = cli("--json", "sandbox", "to-sif", sandbox, tmp_path / "plain.sif")
    assert plain.returncode == 0, plain.stderr
    said = json.loads(plain.stdout)
    assert said["activated"] is False and said["link"] is None, said
    assert said["path"] == said["artifact"] == str(tmp_path / "plain.sif"), said
    assert (tmp_path / "plain.sif").is_file() and not (tmp_path / "plain.sif").is_symlink()

    (tmp_path / "empty").mkdir()
    refused = cli("sandbox", "to-sif", sandbox, tmp_path / "empty")
    assert refused.returncode == 2 and "holding no image store" in refused.stderr, refused
    assert os.listdir(tmp_path / "empty") == []
