"""Fixtures shared by the signing tests."""

from __future__ import annotations

import shutil

import pytest
from images import busybox_sif

from scitex_container.apptainer.signing.keys import new_keypair
from scitex_container.apptainer.signing.sign import sign_artifact


@pytest.fixture(scope="module")
def signed_busybox(tmp_path_factory):
    """(image, key pair): a copy of the busybox SIF signed with a new key."""
    root = tmp_path_factory.mktemp("signed")
    pair = new_keypair(root / "keys")
    image = root / "signed.sif"
    shutil.copy(busybox_sif(), image)
    sign_artifact(image, pair.private)
    return image, pair
