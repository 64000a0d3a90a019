"""Fixtures for lock tests: the mixed apt/pip/npm image (cached by content)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def lock_sif(debian_sif: Path) -> Path:
    """Debian base + hello, python3-yaml, libc6:i386, nodejs, npm; pip from an index dir,
    a direct wheel path and an editable project; two npm globals from local tarballs."""
    from lockimages import lock_sif as make

    return make()
