"""The one error contract, cases a hostile tester found left (issue 21, item 4).

A closed directory is named itself (cannot read / enter it, owner and
mode), never its parent as "cannot write"; `sign` says a link loop and a
path through a file as such and an unreadable key with owner and mode;
`sbom` refuses a def file naming what it expected; an empty directory as a
store says it holds nothing yet and what a build would make; a full disk
in `bundle export` and `repro` names the file being written, exit 1,
nothing half-written.  Refusals of another user run as ``scitex-test``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from clirun import cli, one_line
from otheruser import another_user
from storekit import make_sif
from tmpfs import fill, mounted_tmpfs
from uservenv import as_other


@pytest.fixture()
def closed_stores():
    """A root-owned tree the other user can read, with store directories it cannot."""
    another_user()
    top = Path(tempfile.mkdtemp(prefix="scitex-closed-", dir="/var/tmp"))
    os.chmod(top, 0o755)
    for name, mode in (("closed", 0o700), ("unlisted", 0o711)):
        store = top / name
        store.mkdir()
        make_sif(store / "demo-v20261206T140148Z.sif")
        os.symlink("demo-v20261206T140148Z.sif", store / "demo.sif")
        store.chmod(mode)
    shared = top / "shared"  # a deploy target: one image's store inside it closed
    (shared / "inner").mkdir(parents=True)
    make_sif(shared / "inner" / "inner-v20261206T140148Z.sif")
    (shared / "inner").chmod(0o700)
    yield top
    shutil.rmtree(top)


def test_a_closed_store_directory_is_named_itself(closed_stores: Path) -> None:
    """Was: "STORE: permission denied (cannot write in PARENT ...)" from the listdir."""
    closed, unlisted = closed_stores / "closed", closed_stores / "unlisted"
    for args, named, words in (
        (("versions", closed / "demo.sif"), closed, "cannot read or enter it"),
        (("rollback", closed / "demo-v20261206T140148Z.sif"), closed, "cannot read or enter it"),
        (("versions", unlisted), unlisted, "cannot read it (owner root, mode 0711)"),
        (("versions", closed_stores / "shared"), closed_stores / "shared" / "inner", "or enter"),
        (("cleanup", closed_stores / "shared"), closed_stores / "shared" / "inner", "or enter"),
    ):
        out = as_other(*args)
        assert out.returncode == 2, (args, out.stderr)
        line = one_line(out)
        assert f"{named}: permission denied" in line and words in line, (args, line)
        assert "cannot write" not in line and "mode 07" in line, (args, line)


def test_sign_says_loops_paths_through_files_and_unreadable_keys_as_such(
    tmp_path: Path, busybox_sif: Path
) -> None:
    os.symlink("loopb", tmp_path / "loopa")
    os.symlink("loopa", tmp_path / "loopb")
    afile = tmp_path / "plain"
    afile.write_text("x")
    image = tmp_path / "img.sif"
    shutil.copy(busybox_sif, image)
    key = tmp_path / "key.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\n")
    for args, words in (
        (("sign", tmp_path / "loopa", "--key", key), "too many levels of symbolic links"),
        (("sign", afile / "x", "--key", key), "a component of the path is not a directory"),
        (("sign", image, "--key", tmp_path / "loopa"), "too many levels of symbolic links"),
        (("sign", image, "--key", afile / "x"), "a component of the path is not a directory"),
    ):
        out = cli(*args)
        assert out.returncode == 2, (args, out.stderr)
        line = one_line(out)
        assert words in line and "does not exist" not in line, (args, line)


def test_sign_with_a_key_the_user_cannot_read_names_owner_and_mode(
    closed_stores: Path, busybox_sif: Path
) -> None:
    image = closed_stores / "img.sif"
    shutil.copy(busybox_sif, image)
    key = closed_stores / "key.pem"
    key.write_text("-----BEGIN PRIVATE KEY-----\n")
    key.chmod(0o600)
    out = as_other("sign", image, "--key", key)
    assert out.returncode == 2, out.stderr
    assert f"{key}: permission denied (owner root, mode 0600)" in one_line(out)


def test_sbom_of_a_def_file_is_refused_naming_what_it_expected(tmp_path: Path) -> None:
    """Was: "hello.def:1: line outside any section" (read as a lock)."""
    definition = tmp_path / "hello.def"
    definition.write_text("# a def\nBootstrap: scratch\n\n%runscript\n    echo hi\n")
    for args in (("sbom", definition), ("--json", "sbom", definition)):
        out = cli(*args)
        assert out.returncode == 2, out.stderr
        line = one_line(out)
        assert f"{definition}: expected a SIF image, a sandbox directory or a lock file" in line
        assert "a def file" in line and ":1:" not in line, line
    lock = tmp_path / "x.lock"
    lock.write_text("[pip]\nnot a pin line at all\n")
    out = cli("sbom", lock)  # a broken lock is still refused at its file:line
    assert out.returncode == 2 and f"{lock}:2" in one_line(out), out.stderr


def test_an_empty_directory_as_a_store_says_it_holds_nothing_yet(tmp_path: Path) -> None:
    empty = tmp_path / "myimages"
    empty.mkdir()
    for args in (("rollback", empty), ("deploy", empty, tmp_path / "target")):
        out = cli(*args)
        assert out.returncode == 2, (args, out.stderr)  # a refusal before any change
        line = one_line(out)
        assert f"{empty} is empty: no image yet" in line, line
        assert f"`build DEF -o {empty}` would create {empty}/<name>/<name>-v<version>.sif" in line
        assert "scitex-v*.sif" not in line and "current.sif" not in line, line
    out = cli("sandbox", "rollback", "-d", empty)
    assert out.returncode == 2 and "is empty: no sandbox yet" in one_line(out), out.stderr


@pytest.fixture()
def small_fs(tmp_path: Path):
    """An 8 MiB tmpfs with ``free`` KiB left (set by the test through the returned filler)."""
    with mounted_tmpfs(tmp_path / "small", "8m") as point:

        def leave(free_kib: int) -> Path:
            fill(point, free_kib * 1024, exact=True)
            return point

        yield leave


def _files(root: Path) -> list[str]:
    return sorted(
        os.fspath(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and "flock" not in p.name and p.name != "filler"
    )


def test_bundle_export_on_a_full_disk_names_the_bundle(small_fs, busybox_sif: Path) -> None:
    fs = small_fs(256)  # less than the image
    bundle = fs / "app.bundle"
    out = cli("bundle", "export", busybox_sif, "-o", bundle)
    assert out.returncode == 1, out.stderr
    assert one_line(out) == f"error: {bundle}: no space left on device"
    assert _files(fs) == []  # nothing half-written


@pytest.mark.apptainer
def test_repro_on_a_full_disk_names_the_image_being_written(small_fs, tmp_path: Path) -> None:
    from images import BUSYBOX_DEF

    definition = tmp_path / "bb.def"
    definition.write_text(BUSYBOX_DEF)
    fs = small_fs(256)  # not even the rough build's root file system fits
    out = cli("-q", "repro", definition, "-o", fs / "out")
    assert out.returncode == 1, out.stderr
    line = one_line(out)
    rough = fs / "out" / "bb-rough"
    assert line.startswith(f"error: {rough}/bb-rough-v") and ".sif: no space left on device" in line
    assert "log: " in line, line
    left = _files(fs)  # only the failed build's log, the record of why
    assert len(left) == 1 and left[0].endswith(".sif.build.log"), left
