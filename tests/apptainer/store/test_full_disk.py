"""A full disk (a small tmpfs) during a build, a deploy and a metadata write.

Each trial mounts a tmpfs of a few megabytes (root only; skipped where
mounting is not permitted), fills it up to a chosen margin with a
preallocated file, and then runs the real command.  Each must fail with a
message naming the path on the full file system, leave no half-written
version, temporary or scratch behind, and leave the previous active version
intact (its digest the recorded one).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
from pathlib import Path

import pytest
from images import BUSYBOX_DEF
from storekit import cli_with_cache, make_sif, sha256
from tmpfs import fill, mounted_tmpfs

from scitex_container.apptainer.store.metadata import read_metadata, update_metadata
from scitex_container.apptainer.store.sidecars import META_SUFFIX, sidecar

PAGE = os.sysconf("SC_PAGE_SIZE")


@pytest.fixture()
def tiny_fs(tmp_path: Path):
    """``mount(size)`` -> a fresh tmpfs of ``size`` (e.g. ``"16m"``), unmounted afterwards."""
    numbers = itertools.count()
    with contextlib.ExitStack() as mounted:

        def mount(size: str) -> Path:
            point = tmp_path / f"tmpfs{next(numbers)}"
            return mounted.enter_context(mounted_tmpfs(point, size))

        yield mount


cli = cli_with_cache


def _active(store: Path, link: str) -> tuple[Path, str]:
    real = Path(os.path.realpath(store / link))
    return real, json.loads(sidecar(real, META_SUFFIX).read_text())["sha256"]


def _no_leftovers(store: Path, versions_before: set[str]) -> None:
    names = set(os.listdir(store))
    hidden = [n for n in names if n.startswith(".") and n != ".scitex"]
    assert hidden == [], hidden
    scratch = store / ".scitex" / "tmp"
    assert not scratch.exists() or list(scratch.iterdir()) == []
    versions = {n for n in names if n.endswith(".sif") and "-v" in n}
    assert versions == versions_before, versions - versions_before
    for name in names:  # no metadata or lock of a version that never appeared
        for suffix in (META_SUFFIX, ".lock"):
            if name.endswith(suffix):
                assert name.removesuffix(suffix) in versions, name


@pytest.mark.apptainer
@pytest.mark.parametrize(
    "margin",
    [64 * 1024, 6 << 20],
    ids=["while-copying-the-root-fs", "while-creating-the-sif"],
)
def test_full_disk_during_a_build(tiny_fs, tmp_path: Path, margin: int) -> None:
    """The root file system (4 MB of random data) fits in the larger margin; the SIF does not."""
    fs = tiny_fs("48m")
    cache = tmp_path / "cache"
    (tmp_path / "payload.bin").write_bytes(os.urandom(4 << 20))
    (tmp_path / "bb.def").write_text(BUSYBOX_DEF + "\n%files\n    payload.bin /payload.bin\n")
    first = cli("build", str(tmp_path / "bb.def"), "-o", str(fs), cache=cache)
    assert first.returncode == 0, first.stderr
    store = fs / "bb"
    before, recorded = _active(store, "bb.sif")
    versions = {p.name for p in store.glob("bb-v*.sif")}
    filler = fill(fs, margin)
    out = cli("build", str(tmp_path / "bb.def"), "-o", str(fs), "--force", cache=cache)
    assert out.returncode != 0
    assert "no space left on device" in out.stderr.lower(), out.stderr
    assert str(store) in out.stderr, out.stderr  # names where
    assert _active(store, "bb.sif")[0] == before and sha256(before) == recorded
    _no_leftovers(store, versions)
    filler.unlink()
    again = cli("build", str(tmp_path / "bb.def"), "-o", str(fs), "--force", cache=cache)
    assert again.returncode == 0, again.stderr


def _deploy_source(tmp_path: Path, busybox_sif: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    make_sif(src / "scitex-v1.0.sif", busybox_sif, seed=1)
    make_sif(src / "scitex-v2.0.sif", busybox_sif, pad=4 << 20, seed=2)
    os.symlink("scitex-v1.0.sif", src / "current.sif")
    return src


def _deploy_v2(tiny_fs, tmp_path: Path, busybox_sif: Path, leave) -> tuple[Path, Path, Path, str]:
    """Deploy v1 into a tmpfs, switch the source to v2, fill the tmpfs; return paths."""
    src = _deploy_source(tmp_path, busybox_sif)
    fs = tiny_fs("16m")
    target = fs / "singularity"
    cache = tmp_path / "cache"
    out = cli("deploy", str(src), str(target), cache=cache)
    assert out.returncode == 0, out.stderr
    before, recorded = _active(target, "current.sif")
    os.remove(src / "current.sif")
    os.symlink("scitex-v2.0.sif", src / "current.sif")
    fill(fs, leave((src / "scitex-v2.0.sif").stat().st_size))
    return src, target, before, recorded


@pytest.mark.apptainer
def test_full_disk_during_deploy(tiny_fs, tmp_path: Path, busybox_sif: Path) -> None:
    src, target, before, recorded = _deploy_v2(
        tiny_fs, tmp_path, busybox_sif, lambda size: size // 2
    )
    out = cli("deploy", str(src), str(target), cache=tmp_path / "cache")
    assert out.returncode == 1, out.stderr  # a full disk is exit 1 in every command
    assert "no space left on device" in out.stderr and str(target) in out.stderr, out.stderr
    assert _active(target, "current.sif")[0] == before and sha256(before) == recorded
    _no_leftovers(target, {"scitex-v1.0.sif"})


@pytest.mark.apptainer
def test_full_disk_during_the_deploys_metadata_write(
    tiny_fs, tmp_path: Path, busybox_sif: Path
) -> None:
    """The copy fits to the page; the metadata written after it does not."""
    src, target, before, recorded = _deploy_v2(
        tiny_fs, tmp_path, busybox_sif, lambda size: -(-size // PAGE) * PAGE
    )
    out = cli("deploy", str(src), str(target), cache=tmp_path / "cache")
    assert out.returncode == 1, out.stderr  # a full disk is exit 1 in every command
    assert f"{target / 'scitex-v2.0.sif'}{META_SUFFIX}: no space left on device" in out.stderr
    assert _active(target, "current.sif")[0] == before and sha256(before) == recorded
    _no_leftovers(target, {"scitex-v1.0.sif"})


def test_full_disk_during_a_metadata_update(tiny_fs) -> None:
    fs = tiny_fs("1m")
    version = fs / "img-v20260101T000000Z.sif"
    make_sif(version)
    update_metadata(version, inputs_hash="a" * 64, def_text="x")
    meta = sidecar(version, META_SUFFIX)
    old = meta.read_bytes()
    fill(fs, 0)
    with pytest.raises(OSError) as caught:
        update_metadata(version, def_text="y" * 10_000)
    assert caught.value.filename == str(meta)  # the message names the file
    assert "No space left on device" in str(caught.value)
    assert meta.read_bytes() == old and read_metadata(version).def_text == "x"
    assert sorted(os.listdir(fs)) == sorted(["filler", version.name, meta.name])
