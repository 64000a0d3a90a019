"""Host packages for the host tests: installed once per session through our own installer.

``install_packages(all=True)`` runs the shipped script with real apt-get
(TeX Live's texlive-latex-base and ImageMagick, about 100 MB from the Debian
mirror the first time); when both groups are already installed the script
only asks dpkg and installs nothing.
"""

from __future__ import annotations

import os
import shutil

import pytest


@pytest.fixture(scope="session")
def host_packages() -> dict:
    from scitex_container.host import install_packages

    if os.geteuid() != 0 and shutil.which("sudo") is None:
        pytest.skip("installing host packages needs root or sudo")
    result = install_packages(all=True, use_sudo=True)
    for group in ("texlive", "imagemagick"):
        if result[group]["status"] not in ("present", "installed"):
            pytest.fail(f"installing {group} failed: {result[group]}", pytrace=False)
    return result


@pytest.fixture(autouse=True)
def _launchers_in_tmp(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Program launchers go to a test directory, not the machine's cache."""
    monkeypatch.setenv(
        "SCITEX_CONTAINER_HOST_WRAPPERS", str(tmp_path_factory.getbasetemp() / "launchers")
    )
