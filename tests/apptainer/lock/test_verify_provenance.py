"""verify, provenance embedded in the SIF, and the SBOM, on a real image copy."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from scitex_container.apptainer.lock.capture import capture_lock, freeze
from scitex_container.apptainer.lock.lockfile import read_lock, write_lock
from scitex_container.apptainer.lock.provenance import (
    LOCK_OBJECT,
    PROVENANCE_OBJECT,
    embedded_lock,
    embedded_provenance,
    finalize_build,
    write_lock_sidecar,
)
from scitex_container.apptainer.lock.sbom import SBOM_OBJECT, export_sbom, render_sbom
from scitex_container.apptainer.lock.verify_image import verify
from scitex_container.apptainer.sif.header import read_sif
from scitex_container.apptainer.store import metadata
from scitex_container.apptainer.store.sidecars import LOCK_SUFFIX, sidecar
from scitex_container.errors import BadInputError

pytestmark = pytest.mark.apptainer


@pytest.fixture
def image(lock_sif, tmp_path) -> Path:
    """A private copy of the mixed image (tests change it)."""
    copy = tmp_path / "store" / "mixed.sif"
    copy.parent.mkdir()
    shutil.copyfile(lock_sif, copy)
    return copy


def _sif_objects(path: Path) -> list[str]:
    out = subprocess.run(
        ["apptainer", "sif", "list", str(path)], capture_output=True, text=True, check=True
    )
    return out.stdout.splitlines()


def test_verify_without_lock_reports_digest_and_skips(image):
    result = verify(image)
    assert result["sif"] == {
        "path": str(image),
        "sha256": hashlib.sha256(image.read_bytes()).hexdigest(),
        "exists": True,
    }
    # nothing vouches for the bytes (no recorded digest, no key): never "pass"
    assert result["pip_lock"]["status"] == "skip" and result["overall"] == "unverified"
    assert set(result) >= {"sif", "def_origin", "pip_lock", "dpkg_lock", "overall"}


def test_verify_missing_image_fails_and_non_image_is_refused(tmp_path):
    assert verify(tmp_path / "nope.sif")["overall"] == "fail"
    junk = tmp_path / "junk.sif"
    junk.write_text("not an image")
    with pytest.raises(BadInputError):
        verify(junk)


def test_verify_passes_then_fails_on_a_tampered_sidecar_lock(image):
    lock = capture_lock(image, sidecar(image, LOCK_SUFFIX))
    result = verify(image)
    assert result["lock_source"]["kind"] == "sidecar"
    assert result["overall"] == "unverified", result  # the lock matches; no digest recorded
    assert result["pip_lock"]["status"] == "pass" and result["node_lock"]["status"] == "pass"
    # tamper: one pip version changed, one dpkg package dropped, one npm version changed
    pip = dict(lock.pip, **{"scitex-lock-alpha": "0.9.0"})
    dpkg = {k: v for k, v in lock.dpkg.items() if k != "hello"}
    node = lock.node.replace('"1.2.3"', '"1.2.2"')
    write_lock(
        type(lock)(
            pip=pip, dpkg=dpkg, node=node, image_id=lock.image_id, image_sha256=lock.image_sha256
        ),
        sidecar(image, LOCK_SUFFIX),
    )
    result = verify(image)
    assert result["overall"] == "fail"
    assert result["pip_lock"]["diff_count"] == 1
    assert result["pip_lock"]["changed"] == {
        "scitex-lock-alpha": {"lock": "0.9.0", "image": "1.0.0"}
    }
    assert result["dpkg_lock"]["diff_count"] == 1 and result["dpkg_lock"]["added"] == ["hello"]
    assert result["node_lock"]["diff_count"] == 1


def test_lock_from_another_image_is_reported(image, debian_sif, tmp_path):
    other = capture_lock(debian_sif, captured_at="")
    lock_dir = tmp_path / "locks"
    write_lock(other, lock_dir / image.with_suffix(".sif.lock").name)
    result = verify(image, lock_dir=lock_dir)
    assert result["lock_origin"]["status"] == "fail"
    assert "different image" in result["lock_origin"]["detail"]
    assert result["overall"] == "fail"


def test_reference_freeze_files_in_lock_dir(image, tmp_path):
    freeze(image, tmp_path / "frozen")
    assert verify(image, lock_dir=tmp_path / "frozen")["overall"] == "unverified"
    req = tmp_path / "frozen" / "requirements-lock.txt"
    req.write_text(req.read_text().replace("scitex-lock-alpha==1.0.0", "scitex-lock-alpha==1.0.1"))
    result = verify(image, lock_dir=tmp_path / "frozen")
    assert result["pip_lock"]["status"] == "fail" and result["pip_lock"]["diff_count"] == 1
    assert result["lock_origin"]["status"] == "skip"  # the separate files carry no header


def test_def_origin_against_stored_hash(image, tmp_path):
    good = tmp_path / "mixed.def"
    good.write_text("Bootstrap: localimage\nFrom: base.sif\n")
    metadata.update_metadata(
        image, inputs={"def_sha256": hashlib.sha256(good.read_bytes()).hexdigest()}
    )
    assert verify(image, def_path=good)["def_origin"]["status"] == "pass"
    good.write_text(good.read_text() + "%post\n    true\n")
    result = verify(image, def_path=good)
    assert result["def_origin"]["status"] == "fail" and "mismatch" in result["def_origin"]["detail"]
    assert verify(image, def_path=tmp_path / "missing.def")["def_origin"]["status"] == "fail"


def test_def_origin_falls_back_to_the_def_inside_the_sif(lock_sif, image, tmp_path):
    from images import debian_sif
    from lockimages import _inputs, lock_def_text

    real_def = tmp_path / "real.def"
    real_def.write_text(lock_def_text(debian_sif(), _inputs()))
    result = verify(image, def_path=real_def)
    assert result["def_origin"]["status"] == "pass"
    assert "the image's own def" in result["def_origin"]["detail"]


def test_finalize_embeds_once_and_verify_uses_the_embedded_lock(image):
    meta = finalize_build(image, inputs_hash="ab" * 32, def_sha256="cd" * 32, captured_at="")
    assert meta["lock_embedded"] is True and meta["lock_counts"]["node"] == 2
    size = image.stat().st_size
    finalize_build(
        image, inputs_hash="ab" * 32, captured_at=""
    )  # idempotent: replaced, not stacked
    info = read_sif(image)
    assert len(info.named(LOCK_OBJECT)) == 1 and len(info.named(PROVENANCE_OBJECT)) == 1
    assert image.stat().st_size == size
    # an SBOM stored after the lock survives re-embedding, and nothing grows
    export_sbom(image, embed=True)
    size = image.stat().st_size
    finalize_build(image, inputs_hash="ab" * 32, captured_at="")
    info = read_sif(image)
    assert [len(info.named(n)) for n in (LOCK_OBJECT, PROVENANCE_OBJECT, SBOM_OBJECT)] == [1, 1, 1]
    assert image.stat().st_size == size
    # apptainer itself sees the objects and dumps our lock back
    listing = _sif_objects(image)
    assert sum("Generic/Raw" in line for line in listing) == 2
    assert sum("SBOM" in line for line in listing) == 1
    obj = info.named(LOCK_OBJECT)[0]
    dumped = subprocess.run(
        ["apptainer", "sif", "dump", str(obj.id), str(image)], capture_output=True, check=True
    ).stdout
    assert dumped.decode() == meta["lock_text"]
    assert embedded_lock(image).version_set() == read_lock_text(meta["lock_text"]).version_set()
    assert embedded_provenance(image)["inputs_hash"] == "ab" * 32
    # the image still runs, and verify finds the lock inside it
    subprocess.run(["apptainer", "exec", str(image), "true"], check=True, capture_output=True)
    result = verify(image)
    assert result["lock_source"]["kind"] == "embedded"
    assert result["lock_origin"]["status"] == "pass" and result["overall"] == "unverified"
    # the sidecar written afterwards carries the final digest
    path = write_lock_sidecar(image, meta["lock_text"])
    assert read_lock(path).image_sha256 == hashlib.sha256(image.read_bytes()).hexdigest()


def read_lock_text(text: str):
    from scitex_container.apptainer.lock.lockfile import parse_lock

    return parse_lock(text)


def test_sbom_of_image_validates_and_embeds(image, tmp_path):
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    out = tmp_path / "mixed.cdx.json"
    result = export_sbom(image, out, embed=True)
    text = out.read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    doc = json.loads(text)
    purls = {c["purl"] for c in doc["components"]}
    assert "pkg:pypi/scitex-lock-alpha@1.0.0" in purls
    assert "pkg:npm/%40scitex/scoped-tool@0.1.0" in purls
    assert any(p.startswith("pkg:deb/debian/hello@") for p in purls)
    assert any(p.startswith("pkg:deb/debian/libc6@") and p.endswith("?arch=i386") for p in purls)
    assert result["components"] == len(doc["components"]) and result["embedded"]
    sbom_objs = read_sif(image).named(SBOM_OBJECT)
    assert len(sbom_objs) == 1 and sbom_objs[0].datatype == 0x4009
    assert any("SBOM" in line for line in _sif_objects(image))
    export_sbom(image, embed=True)
    assert len(read_sif(image).named(SBOM_OBJECT)) == 1


def test_sbom_is_deterministic(lock_sif, tmp_path):
    lock = capture_lock(lock_sif, captured_at="")
    assert render_sbom(lock) == render_sbom(read_lock(write_lock(lock, tmp_path / "a.lock")))
    assert "timestamp" not in json.loads(render_sbom(lock))["metadata"]
