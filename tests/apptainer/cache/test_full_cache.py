"""A full cache file system does not fail a build: it is built cold and says so once; the
size cap is settable (--cache-max-size, $SCITEX_CONTAINER_STAGE_CACHE_MAX_SIZE)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from images import STAGED_DEF
from tmpfs import mounted_tmpfs

from scitex_container.apptainer.cache.entries import StageCache, parse_size
from scitex_container.errors import BadInputError


@pytest.mark.apptainer
def test_a_full_cache_file_system_builds_cold_and_says_so(
    sx, tmp_path: Path, busybox_sif: Path
) -> None:
    with mounted_tmpfs(tmp_path / "cache", "64k", mode="700") as cache:
        recipe = tmp_path / "r.def"
        recipe.write_text(STAGED_DEF.format(base=busybox_sif))
        done = sx("build", "--cache-dir", cache / "stages", recipe, "-o", tmp_path / "out")
        assert done.code == 0, done.err  # apptainer's ENOSPC failed the build before
        said = done.out + done.err
        assert said.count("is full while storing stage bootstrap: built cold") == 1, said
        sif = next((tmp_path / "out").rglob("*.sif"))
        ran = subprocess.run(["apptainer", "exec", str(sif), "cat", "/two"], capture_output=True)
        assert ran.stdout == b"two\n"


def test_the_size_cap_is_settable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert parse_size("500M") == 500 * 1024**2 and parse_size("2G") == 2 * 1024**3
    monkeypatch.setenv("SCITEX_CONTAINER_STAGE_CACHE_MAX_SIZE", "3G")
    assert StageCache(tmp_path).max_bytes == 3 * 1024**3
    assert StageCache(tmp_path, max_bytes=10).max_bytes == 10
    with pytest.raises(BadInputError, match="not a size"):
        parse_size("lots")
