"""Fixtures for images that travel: signed and unsigned busybox SIFs, a CLI runner."""

from __future__ import annotations

import os
import shutil

import pytest
from images import busybox_sif
from travel import Cli

from scitex_container.apptainer.signing.keys import new_keypair
from scitex_container.apptainer.signing.sign import sign_artifact


@pytest.fixture()
def cli() -> Cli:
    return Cli(dict(os.environ))


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """(site key pair, other key pair, {"signed", "other", "unsigned"}: SIF paths)."""
    root = tmp_path_factory.mktemp("travel")
    site, other = new_keypair(root / "site"), new_keypair(root / "other")
    out = {}
    for name, key in (("signed", site), ("other", other), ("unsigned", None)):
        path = root / f"{name}.sif"
        shutil.copy(busybox_sif(), path)
        if key is not None:
            sign_artifact(path, key.private)
        out[name] = path
    return site, other, out
