"""`build --sign` signs before publishing; `sign` on a published version re-records its digest."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from images import busybox_sif

from scitex_container.apptainer.building.versioned import build_version
from scitex_container.apptainer.signing.keys import load_public_key, new_keypair
from scitex_container.apptainer.signing.sign_path import sign_image
from scitex_container.apptainer.signing.signature_check import verify_signature
from scitex_container.apptainer.store.metadata import load_metadata
from scitex_container.errors import BadInputError
from scitex_container.files.fsutil import sha256_file

pytestmark = pytest.mark.apptainer


def _project(tmp_path: Path) -> Path:
    shutil.copy(busybox_sif(), tmp_path / "base.sif")
    (tmp_path / "data.txt").write_text("hello\n")
    (tmp_path / "app.def").write_text(
        "Bootstrap: localimage\nFrom: base.sif\n\n%files\n    data.txt /data.txt\n"
    )
    return tmp_path / "app.def"


def test_build_sign_publishes_a_signed_version(tmp_path):
    pair = new_keypair(tmp_path / "keys")
    result = build_version(
        def_path=_project(tmp_path), output_dir=tmp_path / "out", sign_key=pair.private
    )
    verdict = verify_signature(result.path, [load_public_key(pair.public)])
    assert verdict.ok, verdict.detail
    uris = {m["uri"] for m in verdict.materials}
    assert {"file:app.def", "file:data.txt", "localimage:base.sif"} <= uris
    meta = load_metadata(result.path)
    assert meta["sha256"] == sha256_file(os.path.realpath(result.path))
    assert meta["signature"]["signer"] == pair.fingerprint


def test_build_with_bad_key_builds_nothing(tmp_path):
    (tmp_path / "bad.key").write_text("not a key\n")
    with pytest.raises(BadInputError, match=r"bad.key"):
        build_version(
            def_path=_project(tmp_path), output_dir=tmp_path / "out", sign_key=tmp_path / "bad.key"
        )
    assert not (tmp_path / "out").exists()


def test_signing_a_published_version_keeps_the_digest_history(tmp_path):
    pair = new_keypair(tmp_path / "keys")
    result = build_version(def_path=_project(tmp_path), output_dir=tmp_path / "out")
    before = load_metadata(result.path)["sha256"]
    signed = sign_image(result.path, pair.private)
    meta = load_metadata(result.path)
    assert signed.recorded and signed.previous_sha256 == before
    assert meta["sha256"] == sha256_file(os.path.realpath(result.path)) != before
    assert meta["digest_history"][-1]["sha256"] == before
    assert json.dumps(meta["signature"])
    assert verify_signature(result.path, [load_public_key(pair.public)]).ok
