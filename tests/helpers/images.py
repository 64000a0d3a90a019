"""Base images for tests, built once with the raw ``apptainer build`` and cached.

The cache key is the sha256 of the def text (and any files it copies), so a
changed recipe is rebuilt and an unchanged one costs nothing.  Builds use the
raw tool, not our code, so fixtures do not depend on what they help test.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import textwrap
from pathlib import Path

BUSYBOX_DEF = textwrap.dedent(
    """\
    Bootstrap: scratch

    %setup
        mkdir -p "${APPTAINER_ROOTFS}/bin" "${APPTAINER_ROOTFS}/tmp" "${APPTAINER_ROOTFS}/etc"
        cp /bin/busybox "${APPTAINER_ROOTFS}/bin/busybox"
        for applet in sh true false echo cat ls sleep env id printf mkdir; do
            ln -s busybox "${APPTAINER_ROOTFS}/bin/${applet}"
        done

    %environment
        export PATH=/bin

    %runscript
        echo busybox-ok
    """
)

# busybox plus the host's dash and bash (with the libraries they load): each shell a %post
# may run, in an image that builds in about a second
SHELLS_DEF = textwrap.dedent(
    """\
    Bootstrap: scratch

    %setup
        mkdir -p "${APPTAINER_ROOTFS}/bin" "${APPTAINER_ROOTFS}/tmp" "${APPTAINER_ROOTFS}/etc"
        cp /bin/busybox "${APPTAINER_ROOTFS}/bin/busybox"
        for applet in sh true false echo cat ls sleep env id printf mkdir cksum grep; do
            ln -s busybox "${APPTAINER_ROOTFS}/bin/${applet}"
        done
        for shell in /bin/dash /bin/bash; do
            cp -L "$shell" "${APPTAINER_ROOTFS}/bin/"
            for lib in $(ldd "$shell" | grep -o '/[^ ]*'); do
                mkdir -p "${APPTAINER_ROOTFS}${lib%/*}"
                cp -L "$lib" "${APPTAINER_ROOTFS}${lib}"
            done
        done

    %environment
        export PATH=/bin
    """
)

#: Two stages on a local base (``.format(base=SIF)``): ``/one``, a checkpoint, ``/two``.
STAGED_DEF = """\
Bootstrap: localimage
From: {base}

%post
    echo one > /one
    # scitex: checkpoint
    echo two > /two
"""

DEBIAN_DEF = textwrap.dedent(
    """\
    Bootstrap: debootstrap
    OSVersion: bookworm
    MirrorURL: http://deb.debian.org/debian
    Include: python3-pip

    %post
        apt-get clean
        rm -rf /var/lib/apt/lists/*
    """
)


def cache_dir() -> Path:
    path = Path(os.environ.get("SCITEX_TEST_IMAGE_CACHE", "/var/tmp/scitex-container-test-images"))
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o755)
    return path


def cached_build(name: str, def_text: str, *, extra_key: str = "", timeout: int = 900) -> Path:
    """Build ``def_text`` once per content; later calls return the cached SIF."""
    key = hashlib.sha256((def_text + extra_key).encode()).hexdigest()[:16]
    root = cache_dir()
    out = root / f"{name}-{key}.sif"
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if out.exists():
            return out
        work = root / f".{name}-{key}.work"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        (work / f"{name}.def").write_text(def_text)
        tmp = work / f"{name}.sif"
        subprocess.run(
            ["apptainer", "build", "--fakeroot", str(tmp), str(work / f"{name}.def")],
            check=True,
            cwd=work,
            timeout=timeout,
            capture_output=True,
        )
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
        shutil.rmtree(work, ignore_errors=True)
        return out


def busybox_sif() -> Path:
    return cached_build("busybox", BUSYBOX_DEF)


def shells_sif() -> Path:
    """busybox, dash and bash (keyed by the host binaries' content too)."""
    digest = hashlib.sha256()
    for shell in ("/bin/busybox", "/bin/dash", "/bin/bash"):
        digest.update(Path(shell).read_bytes())
    return cached_build("shells", SHELLS_DEF, extra_key=digest.hexdigest())


def debian_sif() -> Path:
    return cached_build("debian-pip", DEBIAN_DEF)


def signed_copies(directory: Path, signers: dict) -> dict[str, Path]:
    """``{name: directory/NAME.sif}``: busybox copies, each signed by ``signers[name]``'s
    private key (a key pair, or None: left unsigned)."""
    from scitex_container.apptainer.signing.sign import sign_artifact

    out = {}
    for name, pair in signers.items():
        path = directory / f"{name}.sif"
        shutil.copy(busybox_sif(), path)
        if pair is not None:
            sign_artifact(path, pair.private)
        out[name] = path
    return out


def busybox_signed_by_new_key(directory: Path):
    """(``directory/signed.sif``, key pair): a busybox copy signed by a new key pair
    (``directory/keys``)."""
    from scitex_container.apptainer.signing.keys import new_keypair

    pair = new_keypair(directory / "keys")
    return signed_copies(directory, {"signed": pair})["signed"], pair
