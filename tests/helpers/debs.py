"""Tiny real Debian packages made with ``dpkg-deb`` (in no index, no network).

Tests use them as versions that vanished upstream (saved files) and as the
whole package set of a small Debian mirror for the real debootstrap.
"""

from __future__ import annotations

import subprocess
from pathlib import Path


def make_deb(
    directory: Path,
    name: str,
    version: str,
    *,
    arch: str = "all",
    priority: str = "",
    depends: str = "",
) -> Path:
    """Build ``<name>_<version>_<arch>.deb`` into ``directory`` and return it."""
    root = directory / f".{name}-{version}-root"
    (root / "DEBIAN").mkdir(parents=True, exist_ok=True)
    (root / "usr/share/doc" / name).mkdir(parents=True, exist_ok=True)
    (root / "usr/share/doc" / name / "README").write_text("saved\n")
    control = f"Package: {name}\nVersion: {version}\nArchitecture: {arch}\n"
    control += f"Priority: {priority}\n" if priority else ""
    control += f"Depends: {depends}\n" if depends else ""
    control += "Maintainer: tests <t@example.org>\nDescription: made by a test\n"
    (root / "DEBIAN/control").write_text(control)
    out = directory / f"{name}_{version}_{arch}.deb"
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["dpkg-deb", "--build", "--root-owner-group", root, out], check=True, capture_output=True
    )
    return out
