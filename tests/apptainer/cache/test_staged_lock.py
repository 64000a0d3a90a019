"""On a Debian base: a build that reused its %post stage has the lock of a cold build."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from wheels import make_wheel

from scitex_container.apptainer.building.versioned import build_version
from scitex_container.apptainer.cache.entries import StageCache
from scitex_container.apptainer.lock.lockfile import read_lock
from scitex_container.apptainer.store.sidecars import LOCK_SUFFIX, sidecar

pytestmark = [pytest.mark.apptainer, pytest.mark.slow]

RECIPE = """\
Bootstrap: localimage
From: {base}

%files
    wheels /opt/wheels

%post
    pip3 install --break-system-packages --no-index --find-links /opt/wheels stage-demo

%environment
    export STAGE_DEMO={env}
"""


def test_reused_post_gives_the_cold_build_lock(tmp_path: Path, debian_sif: Path) -> None:
    make_wheel(tmp_path / "wheels", "stage-demo", "1.2.3")
    recipe = tmp_path / "r.def"
    cache = StageCache(tmp_path / "cache")

    def build(env: str, stage_cache):
        recipe.write_text(RECIPE.format(base=debian_sif, env=env))
        return build_version(
            def_path=recipe, output_dir=tmp_path / "out", stage_cache=stage_cache, force=True
        )

    build("1", cache)
    warm = build("2", cache)  # %environment alone changed: every %post stage reused
    assert [s.name for s in warm.stages if s.reused] == ["post-1"]  # bootstrap: inside it
    assert [s.name for s in warm.stages if s.skipped] == ["bootstrap"]
    cold = build("2", None)
    warm_lock = read_lock(sidecar(warm.artifact, LOCK_SUFFIX))
    cold_lock = read_lock(sidecar(cold.artifact, LOCK_SUFFIX))
    assert warm_lock.pip.get("stage-demo") == "1.2.3"
    assert dict(warm_lock.dpkg) and dict(warm_lock.dpkg) == dict(cold_lock.dpkg)
    assert dict(warm_lock.pip) == dict(cold_lock.pip)
    # the %post stage's entry carries its own lock, captured statically from its root fs
    post = json.loads((cache.entries_dir / warm.stages[1].key / "entry.json").read_text())
    assert post["lock"]["pip"]["stage-demo"] == "1.2.3"
    assert post["lock"]["dpkg"] == dict(cold_lock.dpkg)
