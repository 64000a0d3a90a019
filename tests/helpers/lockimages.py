"""A real image with apt, pip (index, direct URL, editable) and npm globals, for lock tests.

Built once FROM the cached Debian base with ``Bootstrap: localimage`` and
cached by content.  Its inputs (wheels, npm tarballs, an editable project)
are made deterministically under the image cache, so the def text, and so
the cache key, is stable between runs.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import textwrap
from pathlib import Path

from images import cache_dir, cached_build, debian_sif
from wheels import make_wheel

#: What the image installs beyond the Debian base (used in assertions).
APT_PACKAGES = ("hello", "python3-yaml", "libc6:i386", "nodejs", "npm")
PIP_INDEX = {"scitex-lock-alpha": "1.0.0"}
PIP_DIRECT = {"scitex-lock-beta": "2.0.0"}
PIP_EDITABLE = {"scitex-lock-editable": "0.5.0"}
NPM_GLOBALS = {"scitex-tiny-tool": "1.2.3", "@scitex/scoped-tool": "0.1.0"}


def npm_tarball(directory: Path, name: str, version: str) -> Path:
    """What ``npm pack`` makes of a one-file package: ``package/package.json`` in a tgz."""
    directory.mkdir(parents=True, exist_ok=True)
    manifest = json.dumps({"name": name, "version": version, "license": "MIT"}, indent=2).encode()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo("package/package.json")
        info.size, info.mtime, info.mode = len(manifest), 499162500, 0o644
        tar.addfile(info, io.BytesIO(manifest))
    out = directory / f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"
    out.write_bytes(gzip.compress(raw.getvalue(), mtime=0))
    return out


def _inputs() -> Path:
    root = cache_dir() / "lock-inputs-v1"
    wheels = root / "wheels"
    for name, version in {**PIP_INDEX, **PIP_DIRECT}.items():
        make_wheel(wheels, name, version)
    for name, version in NPM_GLOBALS.items():
        npm_tarball(root / "npm", name, version)
    proj = root / "editable"
    proj.mkdir(parents=True, exist_ok=True)
    (proj / "pyproject.toml").write_text(
        textwrap.dedent(
            """\
        [build-system]
        requires = ["setuptools>=61"]
        build-backend = "setuptools.build_meta"

        [project]
        name = "scitex-lock-editable"
        version = "0.5.0"

        [tool.setuptools]
        py-modules = ["scitex_lock_editable"]
        """
        )
    )
    (proj / "scitex_lock_editable.py").write_text("VALUE = 1\n")
    return root


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def lock_def_text(base: Path, inputs: Path) -> str:
    pip = "pip3 install --break-system-packages --no-index"
    return textwrap.dedent(
        f"""\
        Bootstrap: localimage
        From: {base}

        %files
            {inputs}/wheels /opt/wheels
            {inputs}/npm /opt/npm
            {inputs}/editable /opt/src/editable

        %post
            set -e
            dpkg --add-architecture i386
            apt-get update
            apt-get install -y --no-install-recommends hello python3-yaml libc6:i386 nodejs npm
            {pip} --find-links /opt/wheels scitex-lock-alpha
            {pip} /opt/wheels/scitex_lock_beta-2.0.0-py3-none-any.whl
            {pip} --no-build-isolation -e /opt/src/editable
            npm install -g --offline --no-audit --no-fund \\
                /opt/npm/scitex-tiny-tool-1.2.3.tgz /opt/npm/scitex-scoped-tool-0.1.0.tgz
            apt-get clean
            rm -rf /var/lib/apt/lists/*
        """
    )


def lock_sif() -> Path:
    """The cached lock test image (about a minute the first time)."""
    base = debian_sif()
    inputs = _inputs()
    return cached_build("lock-mixed", lock_def_text(base, inputs), extra_key=_digest(inputs))


#: Debian packages that bring Python distributions and npm packages of their own.
DPKG_PYTHON_PACKAGES = ("python3-apt", "python3-numpy", "npm")


def dpkg_python_def_text(base: Path, inputs: Path) -> str:
    pip = "pip3 install --break-system-packages --no-index"
    return textwrap.dedent(
        f"""\
        Bootstrap: localimage
        From: {base}

        %files
            {inputs}/wheels /opt/wheels
            {inputs}/npm /opt/npm

        %post
            apt-get update
            apt-get install -y --no-install-recommends {" ".join(DPKG_PYTHON_PACKAGES)}
            {pip} --find-links /opt/wheels scitex-lock-alpha
            npm install -g --offline --no-audit --no-fund /opt/npm/scitex-tiny-tool-1.2.3.tgz
            apt-get clean
            rm -rf /var/lib/apt/lists/*
        """
    )


def dpkg_python_sif() -> Path:
    """Debian base + python3-apt, python3-numpy and npm from Debian, one pip wheel and
    one npm global of ours (a few minutes the first time, then cached)."""
    base = debian_sif()
    inputs = _inputs()
    text = dpkg_python_def_text(base, inputs)
    return cached_build("dpkg-python", text, extra_key=_digest(inputs))


#: The small image of the archive round trips: Debian base + hello + one local wheel.
ARCHIVE_ROUGH = """\
Bootstrap: localimage
From: {base}

%files
    {wheel} /opt/w/{wheel_name}

%post
    apt-get update
    apt-get install -y --no-install-recommends hello
    pip3 install --break-system-packages --no-index /opt/w/{wheel_name}
    apt-get clean
    rm -rf /var/lib/apt/lists/*
"""


def archive_rough() -> tuple[str, Path]:
    """``(def text, SIF)`` of :data:`ARCHIVE_ROUGH`, built once and cached by content."""
    inputs = cache_dir() / "archive-inputs-v1"
    wheel = make_wheel(inputs, "scitex-arc-offline", "1.0")
    text = ARCHIVE_ROUGH.format(base=debian_sif(), wheel=wheel, wheel_name=wheel.name)
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    return text, cached_build("archive-rough", text, extra_key=digest)


#: Packages of :func:`dpkg_states_sif`: one removed with its config file left
#: (state ``rc``) and one installed for a foreign architecture only.
DPKG_RC = ("scx-rc", "1.0-1")
DPKG_FOREIGN_ONLY = ("scx-foreign", "2.0-1", "i386")


def _state_deb(directory: Path, name: str, version: str, arch: str, conffile: bool) -> Path:
    """A tiny .deb made with ``dpkg-deb`` (fixed dates, built once: the cache key is stable)."""
    import os
    import subprocess

    out = directory / f"{name}_{version}_{arch}.deb"
    if out.exists():
        return out
    root = directory / f".{name}-root"
    (root / "DEBIAN").mkdir(parents=True, exist_ok=True)
    control = f"Package: {name}\nVersion: {version}\nArchitecture: {arch}\n"
    control += "Maintainer: tests <t@example.org>\nDescription: made by a test\n"
    (root / "DEBIAN/control").write_text(control)
    if conffile:
        (root / "etc").mkdir(exist_ok=True)
        (root / "etc" / f"{name}.conf").write_text("setting = 1\n")
        (root / "DEBIAN/conffiles").write_text(f"/etc/{name}.conf\n")
    env = {**os.environ, "SOURCE_DATE_EPOCH": "499162500"}
    tmp = out.with_suffix(".part")
    subprocess.run(
        ["dpkg-deb", "--build", "--root-owner-group", root, tmp],
        check=True,
        capture_output=True,
        env=env,
    )
    os.replace(tmp, out)
    return out


def dpkg_states_sif() -> Path:
    """Debian base + :data:`DPKG_RC` removed (``rc``) + :data:`DPKG_FOREIGN_ONLY` (no network)."""
    base = debian_sif()
    inputs = cache_dir() / "dpkg-states-inputs-v1"
    inputs.mkdir(parents=True, exist_ok=True)
    _state_deb(inputs, DPKG_RC[0], DPKG_RC[1], "amd64", True)
    _state_deb(inputs, *DPKG_FOREIGN_ONLY, False)
    text = textwrap.dedent(
        f"""\
        Bootstrap: localimage
        From: {base}

        %files
            {inputs} /opt/debs

        %post
            set -e
            dpkg --add-architecture {DPKG_FOREIGN_ONLY[2]}
            dpkg -i /opt/debs/*.deb
            dpkg -r {DPKG_RC[0]}
            rm -rf /opt/debs
        """
    )
    return cached_build("dpkg-states", text, extra_key=_digest(inputs))
