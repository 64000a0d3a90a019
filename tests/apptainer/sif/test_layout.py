"""The bytes apptainer's signature does not cover, checked by `verify --key` (real apptainer).

A byte flipped in the SIF header's arch, times, descriptor counts or in the
padding after the header passes `apptainer verify`; `verify --key` must
still fail naming the check, and it does so without hashing the whole file.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from images import busybox_sif
from storekit import flip_byte

from scitex_container.apptainer.building.versioned import build_version
from scitex_container.apptainer.sif.header import read_sif
from scitex_container.apptainer.sif.layout import check_layout, layout_sha256
from scitex_container.apptainer.signing.keys import new_keypair
from scitex_container.apptainer.signing.sign import sign_artifact
from scitex_container.apptainer.store.metadata import load_metadata
from scitex_container.cli.main import main

pytestmark = pytest.mark.apptainer


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    return new_keypair(tmp_path_factory.mktemp("keys") / "k")


@pytest.fixture(scope="module")
def signed(tmp_path_factory, pair) -> Path:
    image = tmp_path_factory.mktemp("img") / "signed.sif"
    shutil.copy(busybox_sif(), image)
    sign_artifact(image, pair.private)
    return image


def _verify(capsys, *args: str) -> tuple[int, dict]:
    with pytest.raises(SystemExit) as exc:
        main(["--json", "verify", *args])
    return int(exc.value.code or 0), json.loads(capsys.readouterr().out)


def _apptainer_verify(image: Path, public: Path) -> int:
    argv = ["apptainer", "verify", "--all", "--key", str(public), str(image)]
    return subprocess.run(argv, capture_output=True).returncode


def test_a_signed_image_has_a_consistent_layout(signed):
    assert check_layout(signed) is None
    assert check_layout(busybox_sif()) is None  # unsigned, as apptainer built it


@pytest.mark.parametrize(
    ("offset", "check"),
    [
        (45, "layout:arch"),  # header arch
        (70, "layout:times"),  # header ctime, a high byte
        (80, "layout:descriptors"),  # header count of free descriptors
        (200, "layout:padding"),  # between the header and the descriptor table (at 4096)
    ],
)
def test_an_unsigned_header_byte_fails(signed, pair, tmp_path, offset, check, capsys):
    image = tmp_path / "t.sif"
    shutil.copy(signed, image)
    flip_byte(image, offset)
    assert _apptainer_verify(image, pair.public) == 0  # apptainer alone does not see it
    code, out = _verify(capsys, str(image), "--key", str(pair.public))
    assert code == 1
    assert out["signature"]["failed_check"] == check
    assert out["overall"] == "fail"


def test_an_unused_descriptor_byte_fails(signed, pair, tmp_path, capsys):
    image = tmp_path / "t.sif"
    shutil.copy(signed, image)
    with open(image, "rb") as fh:
        head = fh.read(128)
    total, desc_off = struct.unpack_from("<qq", head, 88)
    flip_byte(image, desc_off + (total - 1) * 585 + 10)  # the last descriptor is unused
    assert _apptainer_verify(image, pair.public) == 0
    code, out = _verify(capsys, str(image), "--key", str(pair.public))
    assert code == 1
    assert out["signature"]["failed_check"] == f"layout:descriptor {total}"


@pytest.fixture()
def version(tmp_path, pair) -> Path:
    shutil.copy(busybox_sif(), tmp_path / "base.sif")
    (tmp_path / "app.def").write_text("Bootstrap: localimage\nFrom: base.sif\n")
    result = build_version(
        def_path=tmp_path / "app.def", output_dir=tmp_path / "out", sign_key=pair.private
    )
    return Path(os.path.realpath(result.path))


def test_a_signed_version_verifies_without_a_whole_file_hash(version, pair, capsys, monkeypatch):
    meta = load_metadata(version)
    assert meta["signature"]["layout_sha256"] == layout_sha256(version)
    monkeypatch.setenv("XDG_CACHE_HOME", str(version.parent / "empty-cache"))
    code, out = _verify(capsys, str(version), "--key", str(pair.public))
    assert code == 0, out
    assert out["integrity"]["status"] == "pass"
    assert "layout digest recorded at signing" in out["integrity"]["detail"]
    assert out["sif"]["sha256"] is None  # not hashed: apptainer hashed the signed objects


def test_a_plausible_timestamp_change_is_caught_by_the_recorded_layout(
    version, pair, capsys, monkeypatch
):
    """mtime + 1 s passes apptainer and every layout rule; the recorded digest catches it."""
    with open(version, "r+b") as fh:
        fh.seek(72)
        (mtime,) = struct.unpack("<q", fh.read(8))
        fh.seek(72)
        fh.write(struct.pack("<q", mtime + 1))
    assert _apptainer_verify(version, pair.public) == 0
    assert check_layout(version) is None
    monkeypatch.setenv("XDG_CACHE_HOME", str(version.parent / "empty-cache"))
    code, out = _verify(capsys, str(version), "--key", str(pair.public))
    assert code == 1
    assert out["signature"]["ok"]
    assert out["integrity"]["status"] == "fail" and out["integrity"]["tampered"]
    code, out = _verify(capsys, str(version))  # without a key: the recorded sha256
    assert code == 1
    assert out["integrity"]["tampered"]


def test_an_object_deleted_from_the_middle_is_no_tampering(pair, tmp_path, capsys):
    """`apptainer sif del` leaves a deleted object's bytes in place: a hole, not padding."""
    image = tmp_path / "holes.sif"
    shutil.copy(busybox_sif(), image)
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text(name * 3)
        add = ["apptainer", "sif", "add", "--datatype", "7", "--groupid", "1", "--filename"]
        subprocess.run([*add, name, str(image), str(tmp_path / name)], check=True)
    first = next(o.id for o in read_sif(image).objects if o.name == "a.txt")
    subprocess.run(["apptainer", "sif", "del", str(first), str(image)], check=True)
    sign_artifact(image, pair.private)
    assert check_layout(image) is None
    code, out = _verify(capsys, str(image), "--key", str(pair.public))
    assert code == 0, out["signature"]


def test_a_fifo_is_never_opened_as_a_sif(tmp_path):
    """Opening a FIFO for its magic would block until someone writes to it."""
    from scitex_container.apptainer.sif.magic import has_sif_magic, is_sif

    fifo = tmp_path / "x.sif"
    os.mkfifo(fifo)
    assert not has_sif_magic(fifo) and not is_sif(fifo)  # returns at once, no writer needed
