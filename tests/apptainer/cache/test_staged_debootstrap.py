"""A debootstrap recipe through the stage cache: the bootstrap stage is the debootstrap
itself (reaching the Debian mirror), a change to the last ``%post`` line reuses it and the
piece before the checkpoint, and the warm image's lock equals the cold one's."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from scitex_container.apptainer.building.versioned import build_version
from scitex_container.apptainer.cache.entries import StageCache
from scitex_container.apptainer.lock.lockfile import read_lock
from scitex_container.apptainer.store.sidecars import LOCK_SUFFIX, sidecar

pytestmark = [pytest.mark.apptainer, pytest.mark.slow]

RECIPE = """\
Bootstrap: debootstrap
OSVersion: bookworm
MirrorURL: http://deb.debian.org/debian

%post
    echo first > /first
    # scitex: checkpoint
    echo {last} > /last

%runscript
    cat /first /last
"""


def test_a_debootstrap_base_is_reused_after_the_last_post_line_changes(tmp_path: Path) -> None:
    recipe = tmp_path / "deb.def"
    cache = StageCache(tmp_path / "cache")

    def build(last: str):
        recipe.write_text(RECIPE.format(last=last))
        return build_version(
            def_path=recipe, output_dir=tmp_path / "out", stage_cache=cache, force=True
        )

    cold = build("one")
    assert [s.name for s in cold.stages if s.reused or s.skipped] == []
    bootstrap = next(s for s in cold.stages if s.name == "bootstrap")
    assert bootstrap.network  # debootstrap: reused only within --cache-max-age
    warm = build("two")
    assert [(s.name, s.reused, s.skipped) for s in warm.stages] == [
        ("bootstrap", False, True),
        ("post-1", True, False),
        ("post-2", False, False),
        ("final", False, False),
    ]
    assert next(s for s in warm.stages if s.reused).age is not None
    cold_lock = read_lock(sidecar(cold.artifact, LOCK_SUFFIX))
    warm_lock = read_lock(sidecar(warm.artifact, LOCK_SUFFIX))
    assert len(dict(cold_lock.dpkg)) > 50  # a whole Debian base was captured
    assert dict(warm_lock.dpkg) == dict(cold_lock.dpkg)
    assert dict(warm_lock.pip) == dict(cold_lock.pip)
    # the warm image holds the reused piece's file and the edit
    argv = ["apptainer", "run", str(warm.artifact)]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["first", "two"]
