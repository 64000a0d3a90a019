"""Any path into a store names it; a directory of several images is one store per image."""

from __future__ import annotations

import os
from pathlib import Path

from storekit import STAMPS, make_sif, stamped_store

from scitex_container.apptainer.store.opening import open_store, open_stores, resolved_note


def test_the_directory_its_link_and_each_version_name_the_same_store(tmp_path: Path) -> None:
    d = stamped_store(tmp_path / "demo", "demo")
    expected = open_store(d)
    assert expected.version_names() == STAMPS
    for location in (d / "demo.sif", *(d / f"demo-v{s}.sif" for s in STAMPS)):
        st = open_store(location)
        assert (st.dir, st.scheme) == (expected.dir, expected.scheme), location
        assert st.link_problem() is None
    note = resolved_note(d / f"demo-v{STAMPS[0]}.sif", expected)
    assert note is not None and f"version {STAMPS[0]}" in note and str(d / "demo.sif") in note
    assert resolved_note(d, expected) is None


def test_flat_layout_versions_resolve_too(tmp_path: Path) -> None:
    for i, ver in enumerate(["1.0", "2.0"]):
        make_sif(tmp_path / f"scitex-v{ver}.sif", seed=i)
    os.symlink("scitex-v2.0.sif", tmp_path / "current.sif")
    st = open_store(tmp_path / "scitex-v1.0.sif")
    assert st.link == tmp_path / "current.sif" and st.version_names() == ["1.0", "2.0"]


def test_a_shared_directory_is_one_store_per_image(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    stamped_store(shared, "alpha")
    stamped_store(shared, "beta")
    stores = open_stores(shared)
    assert [s.link.name for s in stores] == ["alpha.sif", "beta.sif"]
    assert all(s.version_names() == STAMPS and s.active_version() == STAMPS[-1] for s in stores)
    assert open_store(shared / f"beta-v{STAMPS[0]}.sif").link == shared / "beta.sif"
    assert open_stores(shared / "alpha.sif")[0].link == shared / "alpha.sif"


def test_paths_are_normalized(tmp_path: Path) -> None:
    d = stamped_store(tmp_path / "demo", "demo")
    (tmp_path / "defs").mkdir()
    st = open_store(tmp_path / "defs" / ".." / "demo")
    assert st.dir == d and ".." not in str(st.versions()[0].path)
