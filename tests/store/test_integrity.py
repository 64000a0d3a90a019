"""The store's record cannot be rewritten: tampering and corrupt metadata are reported.

Each test builds a real busybox image (``Bootstrap: scratch``, about a
second) and then damages it as a user or an attacker would, checking the
CLI's answer and that the evidence is left as it was.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from images import BUSYBOX_DEF
from storekit import python_env

from scitex_container.apptainer.building.versioned import build_version
from scitex_container.apptainer.store.layout import META_SUFFIX, sidecar

pytestmark = pytest.mark.apptainer


def cli(*args: str, cache: Path) -> subprocess.CompletedProcess:
    env = {**python_env(), "XDG_CACHE_HOME": str(cache)}
    return subprocess.run(
        [sys.executable, "-m", "scitex_container", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


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


@pytest.mark.parametrize("damage", ["", "{", '{"inputs_hash": 5}', "[]"])
def test_corrupt_metadata_is_reported_never_rewritten(built, tmp_path: Path, damage: str) -> None:
    def_path, link = built
    cache = tmp_path / "cache"
    meta = sidecar(Path(os.path.realpath(link)), META_SUFFIX)
    meta.write_text(damage)
    out = cli("--json", "status", str(tmp_path), "--output-dir", str(tmp_path / "out"), cache=cache)
    rows = json.loads(out.stdout)
    assert rows[0]["needs_rebuild"] is True and str(meta) in rows[0]["error"], rows
    out = cli("build", str(def_path), "-o", str(tmp_path / "out"), cache=cache)
    assert out.returncode == 2 and str(meta) in out.stderr and "--force" in out.stderr
    out = cli("verify", str(link), cache=cache)
    assert out.returncode == 2 and str(meta) in out.stderr
    assert meta.read_text() == damage  # the evidence stays
    out = cli("build", str(def_path), "-o", str(tmp_path / "out"), "--force", cache=cache)
    assert out.returncode == 0, out.stderr
    assert meta.read_text() == damage
    new = Path(os.path.realpath(link))
    assert json.loads(sidecar(new, META_SUFFIX).read_text())["sha256"]
