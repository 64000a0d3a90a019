"""Store semantics on plain files.

List, switch, rollback, cleanup, protection, stale temporaries.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from storekit import make_sif

from scitex_container.apptainer.store.core import Store
from scitex_container.apptainer.store.naming import FLAT_SANDBOX, FLAT_SIF, image_scheme
from scitex_container.apptainer.store.opening import open_store
from scitex_container.apptainer.store.sidecars import KEEP_SUFFIX, META_SUFFIX, sidecar
from scitex_container.errors import BadInputError, NotFoundError, StoreError
from scitex_container.process import runner
from scitex_container.reference import store_versions as v


def flat(tmp_path: Path, versions: list[str], active: str | None = None) -> Path:
    """A flat store whose mtimes run opposite to version order (so mtime order is wrong)."""
    now = time.time()
    for i, ver in enumerate(versions):
        path = tmp_path / f"scitex-v{ver}.sif"
        make_sif(path, seed=i)
        os.utime(path, (now - i * 100, now - i * 100))
    if active:
        os.symlink(f"scitex-v{active}.sif", tmp_path / "current.sif")
    return tmp_path


def test_list_versions_in_version_order_with_reference_keys(tmp_path: Path) -> None:
    flat(tmp_path, ["2.9", "2.10", "2.2"], active="2.9")
    (tmp_path / "scitex-base-v1.sif").write_bytes(b"base")
    (tmp_path / ".scitex-v3.0.sif.1.2.building").write_bytes(b"half")
    rows = v.list_versions(tmp_path)
    assert [r["version"] for r in rows] == ["2.10", "2.9", "2.2"]
    assert {"version", "path", "size", "date", "active", "protected"} <= set(rows[0])
    assert [r["active"] for r in rows] == [False, True, False]
    assert v.get_active_version(tmp_path) == "2.9"


def test_switch_is_atomic_link_replacement(tmp_path: Path) -> None:
    flat(tmp_path, ["1.0", "2.0"], active="1.0")
    v.switch_version("2.0", tmp_path)
    link = tmp_path / "current.sif"
    assert os.readlink(link) == "scitex-v2.0.sif"  # relative: the store can move
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".link")]


def test_unknown_version_lists_available_and_keeps_link(tmp_path: Path) -> None:
    flat(tmp_path, ["1.0", "2.0"], active="1.0")
    with pytest.raises(NotFoundError) as err:
        v.switch_version("9.9", tmp_path)
    assert "2.0, 1.0" in str(err.value) and "9.9" in str(err.value)
    assert os.readlink(tmp_path / "current.sif") == "scitex-v1.0.sif"


def test_failed_switch_never_removes_current_link(tmp_path: Path) -> None:
    flat(tmp_path, ["1.0", "2.0"], active="1.0")
    os.chmod(
        tmp_path, 0o555
    )  # the rename fails (for non-root); root: make it a directory clash instead
    try:
        if os.geteuid() == 0:
            os.chmod(tmp_path, 0o755)
            store = Store(tmp_path, FLAT_SIF)
            store.link.unlink()
            store.link.mkdir()
            with pytest.raises(BadInputError):  # not ours: refused, never removed
                store.switch("2.0")
            assert store.link.is_dir()
        else:
            with pytest.raises(OSError):
                v.switch_version("2.0", tmp_path)
            assert os.readlink(tmp_path / "current.sif") == "scitex-v1.0.sif"
    finally:
        os.chmod(tmp_path, 0o755)


def test_rollback_goes_by_version_not_mtime(tmp_path: Path) -> None:
    flat(tmp_path, ["2.9", "2.10", "2.11"], active="2.11")
    # 2.9 has the newest mtime: an mtime rollback would pick it
    assert v.rollback(tmp_path) == "2.10"
    assert v.rollback(tmp_path) == "2.9"
    with pytest.raises(StoreError, match=r"no version older than 2.9"):
        v.rollback(tmp_path)
    assert v.get_active_version(tmp_path) == "2.9"


def test_rollback_without_active_version(tmp_path: Path) -> None:
    flat(tmp_path, ["1.0"])
    with pytest.raises(StoreError, match="no active version"):
        v.rollback(tmp_path)


def test_cleanup_keeps_newest_active_protected_and_base(tmp_path: Path) -> None:
    flat(tmp_path, ["1", "2", "3", "4", "5", "6"], active="2")
    make_sif(tmp_path / "scitex-base-v1.sif", seed=99)
    sidecar(tmp_path / "scitex-v1.sif", KEEP_SUFFIX).touch()
    sidecar(tmp_path / "scitex-v3.sif", META_SUFFIX).write_text("{}")
    removed = v.cleanup(tmp_path, keep=2)
    # every path that goes is returned: the version's sidecars with it
    assert sorted(p.name for p in removed) == [
        "scitex-v3.sif",
        "scitex-v3.sif.meta.json",
        "scitex-v4.sif",
    ]
    left = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("."))
    assert left == [
        "current.sif",
        "scitex-base-v1.sif",
        "scitex-v1.sif",
        "scitex-v1.sif.keep",
        "scitex-v2.sif",
        "scitex-v5.sif",
        "scitex-v6.sif",
    ]
    assert v.get_active_version(tmp_path) == "2"


def test_cleanup_dry_run_changes_nothing(tmp_path: Path) -> None:
    flat(tmp_path, ["1", "2", "3"], active="3")
    before = sorted(os.listdir(tmp_path))
    with runner.dry_run():
        removed = v.cleanup(tmp_path, keep=0)
    assert sorted(p.name for p in removed) == ["scitex-v1.sif", "scitex-v2.sif"]
    assert sorted(os.listdir(tmp_path)) == before


def test_cleanup_sifs_keep_zero_is_a_reset_but_spares_protected(tmp_path: Path) -> None:
    flat(tmp_path, ["1", "2"], active="2")
    make_sif(tmp_path / "scitex-base-v1.sif", seed=7)
    sidecar(tmp_path / "scitex-v1.sif", KEEP_SUFFIX).touch()
    (tmp_path / "old.sif.old").write_bytes(b"x")
    (tmp_path / "x.sif.backup.1").write_bytes(b"x")
    removed = {p.name for p in v.cleanup_sifs(tmp_path)}
    # what the reference lists: *.sif (base images too), leftovers, the link
    assert removed == {
        "scitex-v2.sif",
        "scitex-base-v1.sif",
        "old.sif.old",
        "x.sif.backup.1",
        "current.sif",
    }
    assert not os.path.lexists(tmp_path / "current.sif")
    assert (tmp_path / "scitex-v1.sif").exists()  # a keep marker is our safety


def test_stale_temporaries_of_dead_writers_are_removed(tmp_path: Path) -> None:
    flat(tmp_path, ["1"], active="1")
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(dead.stdout)
    stale = tmp_path / f".scitex-v2.sif.{dead_pid}.1.building"
    live = tmp_path / f".scitex-v3.sif.{os.getpid()}.1.building"
    half_dir = tmp_path / ".scitex-v4.sif.1.removing"
    for p in (stale, live):
        p.write_bytes(b"partial")
    half_dir.mkdir()
    os.symlink("scitex-v1.sif", tmp_path / ".current.sif.abc.link")
    v.cleanup(tmp_path, keep=5)
    names = set(os.listdir(tmp_path))
    assert live.name in names
    assert not {stale.name, half_dir.name, ".current.sif.abc.link"} & names


def test_protect_and_unprotect(tmp_path: Path) -> None:
    flat(tmp_path, ["1", "2", "3"], active="3")
    store = open_store(tmp_path)
    store.protect("1")
    assert [r.version for r in store.versions() if r.protected] == ["1"]
    assert {p.name for p in store.cleanup(0)} == {"scitex-v2.sif"}
    store.protect("1", keep=False)
    assert {p.name for p in store.cleanup(0)} == {"scitex-v1.sif"}


def test_open_store_detects_build_layout_and_links(tmp_path: Path) -> None:
    img = tmp_path / "demo"
    img.mkdir()
    make_sif(img / "demo-v20260101_000000.sif", seed=1)
    make_sif(img / "demo-v20260102_000000.sif", seed=2)
    os.symlink("demo-v20260102_000000.sif", img / "demo.sif")
    assert open_store(img).scheme == image_scheme("demo")
    assert open_store(img / "demo.sif").scheme == image_scheme("demo")
    assert v.rollback(img) == "20260101_000000"
    assert os.readlink(img / "demo.sif") == "demo-v20260101_000000.sif"


def test_sandbox_store_lists_directories_only(tmp_path: Path) -> None:
    for ts in ("20260101_000000", "20260102_000000"):
        (tmp_path / f"sandbox-{ts}").mkdir()
    (tmp_path / "sandbox-20260103_000000").write_text("not a dir")
    store = Store(tmp_path, FLAT_SANDBOX)
    assert [r.version for r in store.versions()] == ["20260102_000000", "20260101_000000"]
    store.switch("20260101_000000")
    assert os.readlink(tmp_path / "current-sandbox") == "sandbox-20260101_000000"
    removed = store.cleanup(0)
    assert [p.name for p in removed] == ["sandbox-20260102_000000"]
    assert not (tmp_path / "sandbox-20260102_000000").exists()


def test_new_version_is_unique_within_a_second(tmp_path: Path) -> None:
    store = Store(tmp_path, image_scheme("x"))
    first = store.new_version()
    make_sif(store.path_of(first))
    second = store.new_version()
    assert second != first and (second.startswith(first) or second > first)


def test_is_sandbox() -> None:
    assert v.is_sandbox("a/b-sandbox") and v.is_sandbox("sandbox-1/")
    assert not v.is_sandbox("x.sif")


def test_cleanup_drops_sidecars_of_versions_that_never_landed(tmp_path: Path) -> None:
    flat(tmp_path, ["1"], active="1")
    (tmp_path / "scitex-v1.sif.meta.json").write_text("{}")
    (tmp_path / "scitex-v2.sif.build.log").write_text("failed build\n")
    (tmp_path / "scitex-v3.sif.build.log").write_text("building now\n")
    (tmp_path / f".scitex-v3.sif.{os.getpid()}.1.building").write_bytes(b"")
    (tmp_path / "scitex-base-v1.sif.meta.json").write_text("{}")
    v.cleanup(tmp_path, keep=5)
    names = set(os.listdir(tmp_path))
    assert "scitex-v2.sif.build.log" not in names
    assert {
        "scitex-v1.sif.meta.json",
        "scitex-v3.sif.build.log",
        "scitex-base-v1.sif.meta.json",
    } <= names


def test_a_link_into_another_directory_is_not_an_active_version(tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    make_sif(other / "scitex-v1.sif")
    (tmp_path / "s").mkdir()
    store_dir = flat(tmp_path / "s", ["1"])
    os.symlink(other / "scitex-v1.sif", store_dir / "current.sif")
    assert v.get_active_version(store_dir) is None
    v.switch_version("1", store_dir)
    assert os.readlink(store_dir / "current.sif") == "scitex-v1.sif"
    assert v.get_active_version(store_dir) == "1"
