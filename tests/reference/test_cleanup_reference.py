"""cleanup, cleanup_sandboxes, cleanup_sifs and freeze do what the reference says."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from clirun import checkout_cli
from storekit import make_sif

from scitex_container.apptainer import cleanup, cleanup_sandboxes, cleanup_sifs, freeze
from scitex_container.apptainer.store.sidecars import KEEP_SUFFIX, sidecar


def flat(root: Path, versions: list[str], active: str | None) -> None:
    now = time.time()
    for i, ver in enumerate(versions):
        make_sif(root / f"scitex-v{ver}.sif", seed=i)
        os.utime(root / f"scitex-v{ver}.sif", (now - 100 * i, now - 100 * i))
    if active:
        os.symlink(f"scitex-v{active}.sif", root / "current.sif")


def names(root: Path) -> set[str]:
    return {p for p in os.listdir(root) if not p.startswith(".")}


def test_cleanup_keeps_the_n_most_recent_the_active_counted_among_them(tmp_path: Path) -> None:
    flat(tmp_path, ["1", "2", "3", "4", "5"], active="4")
    removed = cleanup(tmp_path, keep=3)
    assert sorted(p.name for p in removed) == ["scitex-v1.sif", "scitex-v2.sif"]
    assert {n for n in names(tmp_path) if n.startswith("scitex-v")} == {
        "scitex-v3.sif",
        "scitex-v4.sif",
        "scitex-v5.sif",
    }
    # an active version older than the newest N is never removed (the reference's safety)
    os.unlink(tmp_path / "current.sif")
    os.symlink("scitex-v3.sif", tmp_path / "current.sif")
    assert [p.name for p in cleanup(tmp_path, keep=1)] == ["scitex-v4.sif"]
    assert {"scitex-v3.sif", "scitex-v5.sif", "current.sif"} <= names(tmp_path)


def test_cleanup_sandboxes_counts_the_active_among_the_n_most_recent(tmp_path: Path) -> None:
    stamps = [f"20260101_00000{i}" for i in range(6)]
    for stamp in stamps:
        (tmp_path / f"sandbox-{stamp}" / ".singularity.d").mkdir(parents=True)
    os.symlink(f"sandbox-{stamps[-2]}", tmp_path / "current-sandbox")
    removed = cleanup_sandboxes(tmp_path, keep=3)
    assert sorted(p.name for p in removed) == [f"sandbox-{s}" for s in stamps[:3]]
    assert os.readlink(tmp_path / "current-sandbox") == f"sandbox-{stamps[-2]}"


def _sif_dir(root: Path) -> None:
    flat(root, ["1", "2", "3"], active="1")
    make_sif(root / "scitex-base-v1.sif", seed=9)
    make_sif(root / "custom.sif", seed=8)  # a SIF that is no version
    (root / "scitex-v2.sif.old").write_bytes(b"old")
    (root / "scitex-v2.sif.backup.20260101").write_bytes(b"backup")
    (root / "notes.txt").write_text("not ours to remove")
    (root / "sub").mkdir()
    make_sif(root / "sub" / "nested.sif", seed=7)


def test_cleanup_sifs_removes_every_listed_pattern_in_the_directory(tmp_path: Path) -> None:
    _sif_dir(tmp_path)
    removed = {p.name for p in cleanup_sifs(tmp_path)}
    assert removed == {
        "scitex-v1.sif",
        "scitex-v2.sif",
        "scitex-v3.sif",
        "scitex-base-v1.sif",
        "custom.sif",
        "scitex-v2.sif.old",
        "scitex-v2.sif.backup.20260101",
        "current.sif",
    }
    assert names(tmp_path) == {"notes.txt", "sub"}  # nothing else, nothing below
    assert (tmp_path / "sub" / "nested.sif").exists()


def test_cleanup_sifs_with_keep_spares_the_newest_the_active_and_bases(tmp_path: Path) -> None:
    _sif_dir(tmp_path)
    removed = {p.name for p in cleanup_sifs(tmp_path, keep=1)}
    assert removed == {
        "scitex-v2.sif",
        "custom.sif",
        "scitex-v2.sif.old",
        "scitex-v2.sif.backup.20260101",
    }
    assert os.readlink(tmp_path / "current.sif") == "scitex-v1.sif"  # active: our safety
    assert {"scitex-v3.sif", "scitex-base-v1.sif"} <= names(tmp_path)
    sidecar(tmp_path / "scitex-v3.sif", KEEP_SUFFIX).touch()
    assert "scitex-v3.sif" not in {p.name for p in cleanup_sifs(tmp_path)}


def test_purge_sifs_lists_everything_under_dry_run_first(tmp_path: Path) -> None:
    _sif_dir(tmp_path)
    before = names(tmp_path)
    planned = checkout_cli("--dry-run", "sandbox", "purge-sifs", "--dir", str(tmp_path))
    assert planned.returncode == 1, planned.stderr  # something would change
    listed = {Path(line.split(" ", 2)[2]).name for line in planned.stdout.splitlines()}
    assert planned.stdout.startswith("would remove ") and "custom.sif" in listed
    assert names(tmp_path) == before  # nothing removed
    done = checkout_cli("--json", "sandbox", "purge-sifs", "--dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert {Path(p).name for p in json.loads(done.stdout)} == listed
    assert names(tmp_path) == before - listed == {"notes.txt", "sub"}


def test_purge_sifs_takes_store_as_every_store_command_does(tmp_path: Path) -> None:
    flat(tmp_path, ["1.0", "1.1", "1.2", "1.3"], "1.3")
    link = tmp_path / "current.sif"
    for args in (("-k", "2", str(link)), ("-k", "2", "-d", str(link)), ("-k", "2", str(tmp_path))):
        planned = checkout_cli("--json", "--dry-run", "sandbox", "purge-sifs", *args)
        assert planned.returncode == 1, (args, planned.stderr)
        listed = {Path(p).name for p in json.loads(planned.stdout)["result"]}
        assert listed == {"scitex-v1.0.sif", "scitex-v1.1.sif"}, args
    both = checkout_cli("sandbox", "purge-sifs", "-d", str(tmp_path), str(link))
    assert both.returncode == 2 and "not both" in both.stderr
    done = checkout_cli("sandbox", "purge-sifs", "-k", "2", str(link))
    assert done.returncode == 0, done.stderr
    assert names(tmp_path) == {"scitex-v1.2.sif", "scitex-v1.3.sif", "current.sif"}


SIDECARS = (".lock", ".meta.json", ".build.log")


def _with_sidecars(root: Path, versions: list[str]) -> set[str]:
    made = set()
    for ver in versions:
        for suffix in SIDECARS:
            path = sidecar(root / f"scitex-v{ver}.sif", suffix)
            path.write_text("x\n")
            made.add(path.name)
    return made


def test_every_removed_path_is_listed_sidecars_included(tmp_path: Path) -> None:
    """What goes is what is listed: a version's sidecars with it, also in a dry run."""
    from scitex_container.process import runner

    flat(tmp_path, ["1", "2", "3", "4"], active="4")
    side = _with_sidecars(tmp_path, ["1", "2", "3", "4"])
    with runner.dry_run():
        planned = {p.name for p in cleanup(tmp_path, keep=2)}
    old = {"scitex-v1.sif", "scitex-v2.sif"}  # the two oldest versions
    assert planned == old | {n for n in side if n.split(".sif")[0] + ".sif" in old}
    before = names(tmp_path)
    removed = {p.name for p in cleanup(tmp_path, keep=2)}
    assert removed == planned == before - names(tmp_path)
    # cleanup_sifs and `sandbox purge-sifs` (its dry run first) list them the same way
    listed = checkout_cli("--dry-run", "sandbox", "purge-sifs", "--dir", str(tmp_path))
    shown = {Path(line.split(" ", 2)[2]).name for line in listed.stdout.splitlines()}
    before = names(tmp_path)
    gone = {p.name for p in cleanup_sifs(tmp_path)}
    assert gone == shown == before - names(tmp_path)
    assert {n for n in side if n.startswith(("scitex-v3.", "scitex-v4."))} <= gone


@pytest.mark.apptainer
def test_freeze_always_returns_pip_dpkg_and_node(debian_sif: Path, tmp_path: Path) -> None:
    paths = freeze(debian_sif, tmp_path)  # an image without npm
    assert set(paths) == {"pip", "dpkg", "node"}
    assert all(p.is_file() for p in paths.values())
    assert json.loads(paths["node"].read_text()) == {}
    assert any(line.startswith("base-files=") for line in paths["dpkg"].read_text().splitlines())
