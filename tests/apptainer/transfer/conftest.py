"""Fixtures for images that travel: signed and unsigned busybox SIFs, a CLI runner."""

from __future__ import annotations

import os

import pytest
from images import signed_copies
from travel import Cli

from scitex_container.apptainer.signing.keys import new_keypair


@pytest.fixture()
def cli() -> Cli:
    return Cli(dict(os.environ))


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """(site key pair, other key pair, {"signed", "other", "unsigned"}: SIF paths)."""
    root = tmp_path_factory.mktemp("travel")
    site, other = new_keypair(root / "site"), new_keypair(root / "other")
    return site, other, signed_copies(root, {"signed": site, "other": other, "unsigned": None})
