"""Honest verdicts: `verify` never says pass for what it did not check; `cleanup` never guesses.

- a plain SIF with no recorded digest and a flipped byte: ``unverified``
  (exit 4), never ``pass``;
- a store version replaced by a link, or an active link out of the store:
  ``integrity`` fails (exit 1) naming it, and nothing is read through it;
- ``cleanup`` refuses (exit 1, naming why) when the active link is missing,
  dangling or points outside, unless ``--force``.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from images import BUSYBOX_DEF, busybox_sif, busybox_signed_by_new_key
from storekit import cli_with_cache, flip_byte, make_sif

from scitex_container.apptainer.building.versioned import build_version
from scitex_container.errors import EXIT_UNVERIFIED

cli = cli_with_cache


@pytest.mark.apptainer
def test_a_plain_sif_with_a_flipped_byte_and_no_digest_is_unverified(tmp_path: Path) -> None:
    image = tmp_path / "plain.sif"
    shutil.copy(busybox_sif(), image)
    flip_byte(image, image.stat().st_size - 100)  # inside the squashfs partition
    out = cli("verify", str(image), cache=tmp_path / "cache")
    assert out.returncode == EXIT_UNVERIFIED == 4, out.stdout + out.stderr
    assert "overall     unverified" in out.stdout and "overall     pass" not in out.stdout
    report = json.loads(cli("--json", "verify", str(image), cache=tmp_path / "cache").stdout)
    assert report["overall"] == "unverified" and report["integrity"]["status"] == "skip"


@pytest.mark.apptainer
def test_a_signature_that_verifies_vouches_for_a_plain_sif(tmp_path: Path) -> None:
    image, pair = busybox_signed_by_new_key(tmp_path)
    cache = tmp_path / "cache"
    assert cli("verify", str(image), cache=cache).returncode == EXIT_UNVERIFIED  # no key
    out = cli("--json", "verify", str(image), "--key", str(pair.public), cache=cache)
    report = json.loads(out.stdout)
    assert out.returncode == 0 and report["overall"] == "pass", out.stdout + out.stderr
    assert report["integrity"]["status"] == "pass" and report["signature"]["ok"] is True
    flip_byte(image, image.stat().st_size - 100)
    out = cli("--json", "verify", str(image), "--key", str(pair.public), cache=cache)
    assert out.returncode == 1 and json.loads(out.stdout)["overall"] == "fail"


@pytest.fixture()
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A store with one built version (its digest recorded); the store directory."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "bb.def").write_text(BUSYBOX_DEF)
    result = build_version(def_path=tmp_path / "bb.def", output_dir=tmp_path / "out")
    return result.path.parent


@pytest.mark.apptainer
def test_a_version_replaced_by_a_link_out_of_the_store_fails_integrity(
    store: Path, tmp_path: Path
) -> None:
    link = store / "bb.sif"
    version = store / os.readlink(link)
    code = cli("verify", str(link), cache=tmp_path / "cache")
    assert code.returncode == 0, code.stdout + code.stderr  # recorded digest matches: pass
    outside = tmp_path / "elsewhere.sif"
    shutil.copy(version, outside)  # the same bytes: only the link gives it away
    version.unlink()
    os.symlink(outside, version)
    for given, named in ((version, "is a link"), (link, "itself a link")):
        out = cli("--json", "verify", str(given), cache=tmp_path / "cache")
        report = json.loads(out.stdout)
        assert out.returncode == 1 and report["overall"] == "fail"
        assert report["integrity"]["status"] == "fail" and named in report["integrity"]["detail"]
        assert str(given) in report["integrity"]["detail"] and report["sif"]["sha256"] is None


@pytest.mark.apptainer
def test_an_active_link_pointing_outside_the_store_fails_integrity(
    store: Path, tmp_path: Path
) -> None:
    link = store / "bb.sif"
    outside = tmp_path / "elsewhere.sif"
    shutil.copy(store / os.readlink(link), outside)
    link.unlink()
    os.symlink(outside, link)
    out = cli("verify", str(link), cache=tmp_path / "cache")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "points outside its store" in out.stdout and str(link) in out.stdout
    assert "overall     fail" in out.stdout


def _flat_store(tmp_path: Path) -> Path:
    store = tmp_path / "flat"
    store.mkdir()
    for n in (1, 2, 3):
        make_sif(store / f"scitex-v{n}.0.sif", seed=n)
    return store


@pytest.mark.parametrize("link", ["missing", "dangling", "outside"])
def test_cleanup_refuses_when_it_cannot_tell_the_active_version(tmp_path: Path, link: str) -> None:
    store = _flat_store(tmp_path)
    current = store / "current.sif"
    why = {"missing": "is missing", "dangling": "does not exist", "outside": "outside the store"}
    if link == "dangling":
        os.symlink("scitex-v9.0.sif", current)
    elif link == "outside":
        make_sif(tmp_path / "other.sif", seed=9)
        os.symlink(tmp_path / "other.sif", current)
    before = sorted(p.name for p in store.glob("[!.]*"))
    out = cli("cleanup", "--keep", "1", str(store), cache=tmp_path / "cache")
    assert out.returncode == 2, out.stdout + out.stderr  # refused before anything changed
    assert "cannot tell which version" in out.stderr and why[link] in out.stderr
    assert "--force" in out.stderr
    assert sorted(p.name for p in store.glob("[!.]*")) == before  # nothing removed
    out = cli("--json", "cleanup", "--keep", "1", "--force", str(store), cache=tmp_path / "cache")
    assert out.returncode == 0, out.stderr
    assert len(json.loads(out.stdout)["removed"]) == 2
    assert (store / "scitex-v3.0.sif").exists()


def test_cleanup_with_a_known_active_version_needs_no_force(tmp_path: Path) -> None:
    store = _flat_store(tmp_path)
    os.symlink("scitex-v1.0.sif", store / "current.sif")
    out = cli("--json", "cleanup", "--keep", "1", str(store), cache=tmp_path / "cache")
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in store.glob("scitex-v*")) == ["scitex-v1.0.sif", "scitex-v3.0.sif"]


def test_cleanup_refuses_when_the_active_link_points_at_a_fifo(tmp_path) -> None:
    """A FIFO named like a version is no version: the store cannot tell what is active."""
    import shutil

    from images import busybox_sif

    from scitex_container.apptainer.store.opening import open_store
    from scitex_container.errors import StoreError

    store = tmp_path / "x"
    store.mkdir()
    for version in ("20260101T000000Z", "20260102T000000Z"):
        shutil.copy(busybox_sif(), store / f"x-v{version}.sif")
    os.mkfifo(store / "x-v20991231T000000Z.sif")
    os.symlink("x-v20991231T000000Z.sif", store / "x.sif")
    with pytest.raises(StoreError, match="not a regular file"):
        open_store(store).cleanup(0)
    assert len(list(store.glob("x-v2026*.sif"))) == 2
