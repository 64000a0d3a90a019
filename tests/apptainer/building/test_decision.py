"""One "unchanged?" decision for build and status: any kept version, and declared ones."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from images import BUSYBOX_DEF

from scitex_container.apptainer.building.decision import (
    declare_satisfies,
    image_statuses,
    image_store,
)
from scitex_container.apptainer.building.versioned import build_version
from scitex_container.apptainer.store.metadata import read_metadata, update_metadata

pytestmark = pytest.mark.apptainer


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "bb.def").write_text(BUSYBOX_DEF)
    return tmp_path


def build(project: Path, **kw):
    return build_version(def_path=project / "bb.def", output_dir=project, **kw)


def test_a_build_matching_a_kept_version_switches_to_it(project: Path) -> None:
    first = build(project)
    (project / "bb.def").write_text(BUSYBOX_DEF + "\n%labels\n    v 2\n")
    second = build(project)
    assert second.built and second.version != first.version
    (project / "bb.def").write_text(BUSYBOX_DEF)  # back to the first inputs
    assert image_statuses(project)[0].needs_rebuild is False  # status agrees with build
    again = build(project)
    assert not again.built and again.version == first.version
    assert os.readlink(project / "bb" / "bb.sif") == first.artifact.name


def test_a_declared_version_satisfies_the_rough_def(project: Path) -> None:
    rough = build(project, image_name="bb-rough")
    (project / "bb.def").write_text(BUSYBOX_DEF + "\n%labels\n    pinned yes\n")
    pinned = build(project)
    (project / "bb.def").write_text(BUSYBOX_DEF)  # the rough def again
    assert image_statuses(project)[0].needs_rebuild is True
    declare_satisfies(pinned.artifact, rough.artifact, project, "bb")
    assert read_metadata(pinned.artifact).satisfies == (rough.inputs_hash,)
    assert image_statuses(project)[0].needs_rebuild is False
    assert not build(project).built
    store = image_store(project, "bb")
    assert store.active_version() == pinned.version
    with pytest.raises(Exception, match="immutable"):
        update_metadata(pinned.artifact, sha256="0" * 64)
