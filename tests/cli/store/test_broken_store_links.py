"""A store path that is a dangling link or a link loop: every store command says
what it is (exit 2), never an empty table, "nothing to remove" or the parent
directory taken for the store.  A store directory given to sign/verify/sbom is
said to be a store, not "a sandbox"."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from storekit import make_sif

STORE_COMMANDS = (
    ("versions",),
    ("cleanup",),
    ("rollback",),
    ("deploy",),
    ("switch",),
)


@pytest.mark.parametrize("argv", STORE_COMMANDS, ids=lambda a: a[0])
def test_a_dangling_link_is_said_for_every_store_command(sx, tmp_path, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    os.symlink("nowhere", tmp_path / "dang")
    make_sif(tmp_path / "scitex-v1.0.sif")  # a store the parent would be mistaken for
    os.symlink("scitex-v1.0.sif", tmp_path / "current.sif")
    args = {"deploy": ("deploy", "dang", "out"), "switch": ("switch", "1.0", "dang")}.get(
        argv[0], (argv[0], "dang")
    )
    ran = sx(*args)
    assert ran.code == 2, (ran.out, ran.err)
    assert "dang: is a dangling link (to nowhere)" in ran.err, ran.err
    assert (tmp_path / "current.sif").resolve().name == "scitex-v1.0.sif"


def test_verify_of_a_dangling_link_is_bad_input_not_a_failed_check(sx, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    os.symlink("nowhere", tmp_path / "dang")
    ran = sx("verify", "dang")
    assert ran.code == 2, (ran.out, ran.err)
    assert "dang: is a dangling link (to nowhere)" in ran.err, ran.err


@pytest.mark.parametrize("argv", [("versions",), ("cleanup",), ("rollback",)])
def test_a_self_looping_active_link_is_a_link_loop(sx, tmp_path, argv):
    store = tmp_path / "img"
    store.mkdir()
    make_sif(store / "img-v20260101T000000Z.sif")
    os.symlink("img.sif", store / "img.sif")  # points at itself
    for given in (store, store / "img.sif"):
        ran = sx(*argv, given)
        assert ran.code == 2, (ran.out, ran.err)
        assert "link loop" in ran.err and "does not exist" not in ran.err, ran.err
        assert (store / "img-v20260101T000000Z.sif").exists()


def _store(tmp_path: Path, busybox_sif: Path) -> Path:
    store = tmp_path / "img"
    store.mkdir()
    make_sif(store / "img-v20260101T000000Z.sif", base=busybox_sif)
    os.symlink("img-v20260101T000000Z.sif", store / "img.sif")
    return store


@pytest.mark.apptainer
@pytest.mark.parametrize("command", ["sign", "verify", "sbom"])
def test_a_store_directory_is_said_to_be_a_store(sx, tmp_path, busybox_sif, command):
    store = _store(tmp_path, busybox_sif)
    key = tmp_path / "k.pem"
    key.write_text("not used\n")
    extra = ("--key", key) if command == "sign" else ()
    ran = sx(command, store, *extra)
    assert ran.code == 2, (ran.out, ran.err)
    assert "is an image store" in ran.err and "sandbox" not in ran.err, ran.err
