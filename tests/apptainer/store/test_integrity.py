"""The store's record cannot be rewritten: tampering and corrupt metadata are reported.

Each test builds a real busybox image (``Bootstrap: scratch``, about a
second) and then damages it as a user or an attacker would, checking the
CLI's answer and that the evidence is left as it was.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from images import BUSYBOX_DEF
from storekit import cli_with_cache

from scitex_container.apptainer.building.versioned import build_version
from scitex_container.apptainer.store.sidecars import META_SUFFIX, sidecar

pytestmark = pytest.mark.apptainer


cli = cli_with_cache


@pytest.fixture()
def built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """(the def, the active link) of a fresh build."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "bb.def").write_text(BUSYBOX_DEF)
    result = build_version(def_path=tmp_path / "bb.def", output_dir=tmp_path / "out")
    return tmp_path / "bb.def", result.path


def _verify(link: Path, cache: Path) -> tuple[int, dict]:
    out = cli("--json", "verify", str(link), cache=cache)
    return out.returncode, json.loads(out.stdout)


def test_byte_flip_with_restored_mtime_is_reported_as_tampered(built, tmp_path: Path) -> None:
    _, link = built
    cache = tmp_path / "cache"
    code, report = _verify(link, cache)  # fills the digest cache
    assert code == 0 and report["integrity"]["status"] == "pass", report
    assert report["lock_source"]["kind"] == "sidecar"  # the link uses the version's sidecars
    real = Path(os.path.realpath(link))
    meta_before = sidecar(real, META_SUFFIX).read_bytes()
    st = real.stat()
    with open(real, "r+b") as fh:
        fh.seek(st.st_size // 2)
        byte = fh.read(1)
        fh.seek(st.st_size // 2)
        fh.write(bytes([byte[0] ^ 0xFF]))
    os.utime(real, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, same mtime
    code, report = _verify(link, cache)
    assert code == 1 and report["integrity"]["tampered"] is True
    assert report["integrity"]["status"] == "fail" and "tampered" in report["integrity"]["detail"]
    assert report["overall"] == "fail"
    out = cli("verify", str(link), cache=cache)
    assert out.returncode == 1 and "tampered" in out.stdout
    assert sidecar(real, META_SUFFIX).read_bytes() == meta_before  # the record is unchanged


def test_ctime_only_change_rehashes_and_still_passes(built, tmp_path: Path) -> None:
    _, link = built
    cache = tmp_path / "cache"
    assert _verify(link, cache)[0] == 0
    real = Path(os.path.realpath(link))
    time.sleep(0.05)
    os.chmod(real, 0o700)  # ctime moves, content does not
    code, report = _verify(link, cache)
    assert code == 0 and report["integrity"]["status"] == "pass"
    assert report["sif"]["sha256"] == report["integrity"]["recorded_sha256"]


def _status(tmp_path: Path, cache: Path) -> dict:
    out = cli("--json", "status", str(tmp_path), "--output-dir", str(tmp_path / "out"), cache=cache)
    return json.loads(out.stdout)[0]


def _versions(store: Path) -> list[str]:
    return sorted(p.name for p in store.glob("bb-v*.sif"))


@pytest.mark.parametrize("damage", ["", "{", '{"inputs_hash": 5}', "[]"])
def test_corrupt_metadata_is_reported_never_rewritten(built, tmp_path: Path, damage: str) -> None:
    """Unchanged def: the SIF's embedded inputs hash vouches for it; nothing is rewritten."""
    def_path, link = built
    cache = tmp_path / "cache"
    real = Path(os.path.realpath(link))
    recorded = json.loads(sidecar(real, META_SUFFIX).read_text())["inputs_hash"]
    meta = sidecar(real, META_SUFFIX)
    meta.write_text(damage)
    row = _status(tmp_path, cache)
    assert str(meta) in row["error"] and "embedded provenance" in row["error"], row
    assert row["needs_rebuild"] is False and row["hash_stored"] == recorded, row
    before = _versions(link.parent)
    out = cli("--json", "build", str(def_path), "-o", str(tmp_path / "out"), cache=cache)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["built"] is False  # recovered from the image: no rebuild
    assert _versions(link.parent) == before
    out = cli("verify", str(link), cache=cache)
    assert out.returncode == 2 and str(meta) in out.stderr
    assert meta.read_text() == damage  # the evidence stays
    out = cli("build", str(def_path), "-o", str(tmp_path / "out"), "--force", cache=cache)
    assert out.returncode == 0, out.stderr
    assert meta.read_text() == damage
    new = Path(os.path.realpath(link))
    assert new != real and json.loads(sidecar(new, META_SUFFIX).read_text())["sha256"]


def test_corrupt_metadata_and_changed_def_refuses_without_force(built, tmp_path: Path) -> None:
    def_path, link = built
    cache = tmp_path / "cache"
    meta = sidecar(Path(os.path.realpath(link)), META_SUFFIX)
    meta.write_text("{")
    def_path.write_text(def_path.read_text() + "\n%labels\n    changed yes\n")
    row = _status(tmp_path, cache)
    assert row["needs_rebuild"] is True and str(meta) in row["error"], row
    out = cli("build", str(def_path), "-o", str(tmp_path / "out"), cache=cache)
    assert out.returncode == 2 and str(meta) in out.stderr and "--force" in out.stderr
    assert "records other inputs" in out.stderr
    assert meta.read_text() == "{"
    out = cli("build", str(def_path), "-o", str(tmp_path / "out"), "--force", cache=cache)
    assert out.returncode == 0, out.stderr
    assert meta.read_text() == "{"


def test_corrupt_metadata_without_embedded_provenance_refuses(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "bb.def").write_text(BUSYBOX_DEF)
    link = build_version(
        def_path=tmp_path / "bb.def", output_dir=tmp_path / "out", provenance=False
    ).path
    meta = sidecar(Path(os.path.realpath(link)), META_SUFFIX)
    meta.write_text("")
    row = _status(tmp_path, tmp_path / "cache")
    assert row["needs_rebuild"] is True and "embedded" not in row["error"], row
    out = cli(
        "build", str(tmp_path / "bb.def"), "-o", str(tmp_path / "out"), cache=tmp_path / "cache"
    )
    assert out.returncode == 2 and "no embedded inputs hash" in out.stderr, out.stderr
    assert meta.read_text() == ""
