"""Slow round trips: apt + pip + npm on one def, and the bundled example.

The apt/pip/npm def builds FROM the lock tests' mixed image (Debian with
nodejs and npm installed by apt in its %post from the Debian mirror) and
installs one more package with each manager: jq (apt), a wheel (pip) and a
tarball made like ``npm pack`` does (npm).  After the round trip, newer
versions appear (a newer wheel, a newer tarball, and the Debian security
suite, whose jq is newer than bookworm's): a rebuild from the rough def
drifts, a rebuild from the locked def reproduces the lock (apt downgrades
jq, pip and npm reinstall the pinned versions).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
from lockimages import npm_tarball
from wheels import make_wheel

from scitex_container.apptainer.building.versioned import build
from scitex_container.apptainer.lock.capture import capture_lock
from scitex_container.apptainer.lock.compare import compare_locks
from scitex_container.apptainer.lock.lockfile import read_lock
from scitex_container.apptainer.repro.roundtrip import (
    build_reproducible,
    check_verified,
    verify_roundtrip,
)

pytestmark = [pytest.mark.apptainer, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
TOOL = "scitex-full-tool"
SECURITY = "deb [arch=amd64] http://deb.debian.org/debian-security bookworm-security main\n"


def full_def(base: Path) -> str:
    pip = "pip3 install --break-system-packages --no-index"
    return textwrap.dedent(
        f"""\
        Bootstrap: localimage
        From: {base}

        %files
            wheels /opt/full-wheels
            npm /opt/full-npm
            apt-sources /opt/apt-sources

        %post
            cp /opt/apt-sources/*.list /etc/apt/sources.list.d/ 2>/dev/null || true
            apt-get update || echo "some apt lists failed; using the others"
            apt-get install -y --no-install-recommends jq
            {pip} --find-links /opt/full-wheels scitex-full-alpha
            npm install -g --offline --no-audit --no-fund /opt/full-npm/{TOOL}-latest.tgz
            apt-get clean
            rm -rf /var/lib/apt/lists/*
        """
    )


def publish_tool(npm_dir: Path, version: str) -> None:
    """Add ``<tool>-<version>.tgz`` and make it the ``-latest`` tarball the rough def installs."""
    made = npm_tarball(npm_dir, TOOL, version)
    shutil.copyfile(made, npm_dir / f"{TOOL}-latest.tgz")


@pytest.fixture(scope="module")
def project(tmp_path_factory, lock_sif) -> Path:
    root = tmp_path_factory.mktemp("repro-full")
    make_wheel(root / "wheels", "scitex-full-alpha", "1.0.0")
    publish_tool(root / "npm", "1.0.0")
    (root / "apt-sources").mkdir()
    (root / "apt-sources" / "README").write_text("extra apt sources (*.list) for the image\n")
    (root / "full.def").write_text(full_def(lock_sif))
    return root


@pytest.fixture(scope="module")
def roundtrip(project):
    return build_reproducible(project / "full.def", project / "images")


def test_apt_pip_npm_roundtrip_is_identical(roundtrip, lock_sif):
    r = roundtrip
    assert r.identical, r.summary
    lock = read_lock(r.lock)
    assert lock.dpkg["jq"] and lock.pip["scitex-full-alpha"] == "1.0.0"
    assert lock.node_versions[TOOL] == "1.0.0"
    text = r.locked_def.read_text()
    # apt pins only what the def added to its base image (jq and its libraries)
    pins = text.split("<<'SCITEX_APT_PINS'\n")[1].split("SCITEX_APT_PINS")[0].split()
    base = capture_lock(lock_sif, with_digest=False, captured_at="")
    assert pins == sorted(f"{n}={v}" for n, v in lock.dpkg.items() if base.dpkg.get(n) != v)
    assert {p.split("=")[0] for p in pins} >= {"jq", "libjq1"}
    assert "scitex-full-alpha==1.0.0" in text and f"{TOOL}@1.0.0" in text
    assert check_verified(r.image, require_verified=True)


@pytest.fixture(scope="module")
def newer(roundtrip, project):
    make_wheel(project / "wheels", "scitex-full-alpha", "1.1.0")
    publish_tool(project / "npm", "1.1.0")
    (project / "apt-sources" / "security.list").write_text(SECURITY)
    rough = Path(
        os.path.realpath(
            build(
                def_path=project / "full.def",
                output_dir=project / "later",
                image_name="full-again",
                force=True,
            )
        )
    )
    drift = compare_locks(roundtrip.lock, capture_lock(rough), a_label="lock", b_label="rebuild")
    again = verify_roundtrip(roundtrip.image)
    return drift, again


def test_rough_rebuild_drifts_on_every_manager(newer, roundtrip):
    drift, _ = newer
    assert drift.changed["pip:scitex-full-alpha"] == ("1.0.0", "1.1.0")
    assert drift.changed[f"node:{TOOL}"] == ("1.0.0", "1.1.0")
    old_jq = read_lock(roundtrip.lock).dpkg["jq"]
    if "dpkg:jq" in drift.changed:  # the security suite had a newer jq than bookworm's
        assert drift.changed["dpkg:jq"][0] == old_jq
        assert "dpkg:jq" in drift.summary()
    assert "pip:scitex-full-alpha" in drift.summary() and f"node:{TOOL}" in drift.summary()


def test_locked_rebuild_reproduces_every_manager(newer, roundtrip):
    _, again = newer
    assert again.identical, again.summary
    got = read_lock(again.lock)
    want = read_lock(roundtrip.lock)
    assert got.dpkg["jq"] == want.dpkg["jq"]
    assert got.pip["scitex-full-alpha"] == "1.0.0" and got.node_versions[TOOL] == "1.0.0"


def sif_tree(sif: Path) -> list[str]:
    """``mode owner path [-> target]`` of every file in the SIF (raw unsquashfs)."""
    listing = subprocess.run(
        ["apptainer", "sif", "list", sif], capture_output=True, text=True, check=True
    ).stdout
    row = next(line for line in listing.splitlines() if "Squashfs" in line)
    offset = row.split("|")[3].strip().split("-")[0]
    out = subprocess.run(
        ["unsquashfs", "-o", offset, "-lln", sif], capture_output=True, text=True, check=True
    ).stdout
    return sorted(
        " ".join(f[:2] + f[5:]) for line in out.splitlines() if len(f := line.split()) >= 6
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="the offline rebuild (unshare --net) needs root")
def test_bundled_example_reproduces_from_the_archive_offline(tmp_path):
    archive = tmp_path / "archive"
    result = build_reproducible(
        REPO / "examples" / "demo" / "demo.def", tmp_path / "build", archive=archive
    )
    assert result.identical, result.summary
    lock = read_lock(result.lock)
    assert lock.pip["scitex-demo-hello"] == "1.0.0" and lock.pip["scitex-demo-util"] == "0.3.1"
    assert check_verified(result.image).state == "verified"
    # every .deb of the base and both local wheels came from the archive
    rough_lock = read_lock(result.rough_lock)
    assert set(rough_lock.artifacts) >= {f"dpkg:{n}" for n in rough_lock.dpkg}
    assert {"pip:scitex-demo-hello", "pip:scitex-demo-util"} <= set(rough_lock.artifacts)
    text = result.locked_def.read_text()
    # the debootstrap headers the archive pin replaced stay as comments (a re-pin undoes it)
    assert "\n# scitex-container was: MirrorURL: http://deb.debian.org/debian\n" in text
    code = "".join(ln for ln in text.splitlines(True) if not ln.lstrip().startswith("#"))
    assert re.search(r"(?m)^Bootstrap: scratch$", code) and "MirrorURL" not in code
    assert re.findall(r"https?://\S+", code) == ["http://deb.debian.org/debian"]
    assert "--no-index --require-hashes" in text
    # the rebuild is the rough image's twin: same files, modes, owners and links,
    # the same apt sources, nothing of the archive, the same runscript
    assert sif_tree(result.image) == sif_tree(result.rough_image)
    for image in (result.image, result.rough_image):
        sources = subprocess.run(
            ["apptainer", "exec", image, "cat", "/etc/apt/sources.list"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert sources == "deb http://deb.debian.org/debian bookworm main\n"
    runs = [
        subprocess.run(["apptainer", "run", i], capture_output=True, text=True, check=True).stdout
        for i in (result.image, result.rough_image)
    ]
    assert runs[0] == runs[1] == "hello from scitex-demo-hello 1.0.0\n"
