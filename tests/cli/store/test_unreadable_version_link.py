"""A version only its owner may read (0600), reached through the active link by
another user: `versions` of the link works as of the store (it never reads the
SIF); a command that reads it names the version's owner and mode, not the
link's 0777."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from otheruser import another_user
from storekit import make_sif
from uservenv import as_other

REPO = Path(__file__).resolve().parents[3]
VERSION = "img-v20260101T000000Z.sif"


@pytest.fixture()
def store() -> Iterator[Path]:
    another_user()
    top = Path(tempfile.mkdtemp(prefix="scitex-private-", dir="/var/tmp"))
    os.chmod(top, 0o755)
    store = top / "img"
    store.mkdir(mode=0o755)
    make_sif(store / VERSION)
    os.chmod(store / VERSION, 0o600)
    os.symlink(VERSION, store / "img.sif")
    yield store
    shutil.rmtree(top)


def test_versions_of_the_link_works_as_of_the_store(store: Path) -> None:
    of_dir = as_other("versions", store)
    of_link = as_other("versions", store / "img.sif")
    assert of_dir.returncode == 0, of_dir.stderr
    assert of_link.returncode == 0, of_link.stderr
    assert VERSION in of_link.stdout and of_link.stdout == of_dir.stdout


def test_a_reader_names_the_versions_owner_and_mode(store: Path) -> None:
    ran = as_other("verify", store / "img.sif")
    assert ran.returncode == 2, (ran.stdout, ran.stderr)
    line = ran.stderr.strip().splitlines()[-1]
    assert f"{store / 'img.sif'}: permission denied" in line, line
    assert f"{store / VERSION}: owner root, mode 0600" in line and "0777" not in line, line
