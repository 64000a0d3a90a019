"""`sign --key` and `sbom --embed` change a store version only through a renamed copy.

Unsigned embedding re-records the version's digest (so `verify` passes
integrity), and a full disk (a small tmpfs) while copying, signing or
writing the metadata leaves the version's bytes and metadata exactly as
they were, with the full-disk error naming it (exit 1).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from clirun import in_process_json
from storekit import store_version
from tmpfs import fill, mounted_tmpfs

from scitex_container.apptainer.lock.provenance import SBOM_OBJECT, read_named_object
from scitex_container.apptainer.store import sidecars as layout
from scitex_container.files import temporaries
from scitex_container.files.fsutil import sha256_file

pytestmark = pytest.mark.apptainer
PAGE = os.sysconf("SC_PAGE_SIZE")


@pytest.fixture()
def tiny_fs(tmp_path: Path):
    with mounted_tmpfs(tmp_path / "tmpfs", "16m") as point:
        yield point


def _state(image: Path) -> tuple[str, bytes]:
    return sha256_file(image), layout.sidecar(image, layout.META_SUFFIX).read_bytes()


def _integrity_passes(capsys, image: Path) -> None:
    code, out = in_process_json(capsys, "verify", str(image))
    assert code == 0, out
    assert out["integrity"]["status"] == "pass", out


def test_embed_without_key_rerecords_the_version(tmp_path, capsys):
    image = store_version(tmp_path)
    before = sha256_file(image)
    code, out = in_process_json(capsys, "sbom", str(image.parent / "app.sif"), "--embed")
    assert code == 0, out
    assert out["embedded"] and out["recorded"]
    assert read_named_object(image, SBOM_OBJECT) is not None
    meta = json.loads(layout.sidecar(image, layout.META_SUFFIX).read_text())
    assert meta["sha256"] == sha256_file(image) != before
    assert meta["digest_history"][-1]["sha256"] == before
    _integrity_passes(capsys, image)
    assert [p.name for p in image.parent.iterdir() if p.name.startswith(".")] in ([], [".scitex"])


def _size_pages(path: Path) -> int:
    return -(-path.stat().st_size // PAGE) * PAGE


@pytest.mark.parametrize("command", ["sign", "embed"])
@pytest.mark.parametrize(
    "extra_pages", [None, -1, 0, 1], ids=["full", "copy", "change", "metadata"]
)
def test_full_disk_leaves_the_version_as_it_was(
    tiny_fs, key, capsys, command: str, extra_pages: int | None
):
    """Free: nothing, less than a copy, a copy (the signature or SBOM does not fit), a copy
    and one page (the change fits, the metadata does not: both grow the busybox SIF by less
    than a page).  Each fails with exit 1 naming the version, which stays as it was."""
    image = store_version(tiny_fs)
    before = _state(image)
    leave = 0 if extra_pages is None else _size_pages(image) + extra_pages * PAGE
    filler = fill(tiny_fs, leave)
    if command == "sign":
        code, out = in_process_json(capsys, "sign", str(image), "--key", str(key.private))
    else:
        code, out = in_process_json(capsys, "sbom", str(image), "--embed")
    assert code == 1, out
    assert "no space left on device" in out["error"] and str(image) in out["error"], out
    assert _state(image) == before
    assert [p.name for p in image.parent.iterdir() if p.name.startswith(".")] in ([], [".scitex"])
    assert temporaries.pending() == []
    filler.unlink()
    _integrity_passes(capsys, image)
    if command == "sign":  # with room, the same command succeeds and is recorded
        code, out = in_process_json(capsys, "sign", str(image), "--key", str(key.private))
        assert code == 0 and out["recorded"], out
        _integrity_passes(capsys, image)
