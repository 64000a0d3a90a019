"""What a capture found in one image, shared by the static and the exec capture."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Found:
    """Versions found in one image, per package manager."""

    pip: dict[str, str] = field(default_factory=dict)
    dpkg: dict[str, str] = field(default_factory=dict)
    node: dict[str, str] = field(default_factory=dict)
    apk: dict[str, str] = field(default_factory=dict)
    image_id: str = ""
    method: str = "static"
    #: ``pip:<name>``/``node:<name>`` -> ``dpkg:<package>`` that installed it
    owners: dict[str, str] = field(default_factory=dict)
    #: removed dpkg packages whose config files remain (``rc``): name -> version
    dpkg_config_files: dict[str, str] = field(default_factory=dict)
    #: the other Python environments: environment -> {key: version} (see :mod:`.pyenvs`)
    pip_envs: dict[str, dict[str, str]] = field(default_factory=dict)
    #: the environment ``pip`` holds (the image's runtime one; "" without Python)
    pip_environment: str = ""


def pip_manager(env: str, primary: str) -> str:
    """The version-set manager of an environment's entries: ``pip`` or ``pip@<env>``."""
    return "pip" if env == primary else f"pip@{env}"


def dpkg_owners(
    installed: dict[str, str], lists: dict[str, bytes], dpkg: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Which of ``installed`` (key -> image path) a dpkg package's file list holds.

    ``lists`` maps ``var/lib/dpkg/info/<pkg>[:arch].list`` to its text.
    Returns ``{key: "dpkg:<pkg>"}``, the package named as the lock names it
    (``pkg:arch`` only where ``dpkg``, the lock's packages, has no plain ``pkg``).
    """
    wanted = {"/" + path.strip("/"): key for key, path in installed.items()}
    out: dict[str, str] = {}
    for list_path, data in sorted(lists.items()):
        package = posixpath.basename(list_path).removesuffix(".list")
        if dpkg is not None and package not in dpkg and package.split(":")[0] in dpkg:
            package = package.split(":")[0]
        for line in data.decode("utf-8", "replace").splitlines():
            key = wanted.get(line.rstrip("/"))
            if key is not None and key not in out:
                out[key] = f"dpkg:{package}"
    return dict(sorted(out.items()))
