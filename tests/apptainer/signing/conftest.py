"""Fixtures shared by the signing tests."""

from __future__ import annotations

import pytest
from images import busybox_signed_by_new_key, signed_copies

from scitex_container.apptainer.signing.keys import new_keypair


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    """A new key pair (one per test module)."""
    return new_keypair(tmp_path_factory.mktemp("keys") / "k")


@pytest.fixture(scope="module")
def signed_busybox(tmp_path_factory):
    """(image, key pair): a copy of the busybox SIF signed with a new key."""
    return busybox_signed_by_new_key(tmp_path_factory.mktemp("signed"))


@pytest.fixture(scope="module")
def signed_images(tmp_path_factory):
    """Site key, another key, and busybox SIFs: unsigned, signed by site, signed by other."""
    root = tmp_path_factory.mktemp("policy")
    site, other = new_keypair(root / "site"), new_keypair(root / "other")
    images = root / "images"
    images.mkdir()
    return site, other, signed_copies(images, {"unsigned": None, "site": site, "other": other})
