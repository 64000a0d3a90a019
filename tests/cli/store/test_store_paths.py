"""One path model on the command line: a version path is its store, a shared dir lists all."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from clirun import cli
from images import BUSYBOX_DEF
from storekit import STAMPS, make_sif, stamped_store


def test_a_path_the_versions_table_prints_is_accepted_as_store(tmp_path: Path) -> None:
    stamped_store(tmp_path / "demo", "demo")
    rows = json.loads(cli("--json", "versions", tmp_path / "demo").stdout)
    listed = rows[-1]["path"]
    again = cli("--json", "versions", listed)
    assert again.returncode == 0 and json.loads(again.stdout) == rows
    out = cli("rollback", listed)
    assert out.returncode == 0, out.stderr
    assert "move it away" not in out.stderr and f"note: {listed} is version" in out.stderr
    assert os.readlink(tmp_path / "demo" / "demo.sif") == f"demo-v{STAMPS[1]}.sif"


def test_a_deploy_target_with_several_images_lists_rolls_back_and_cleans_each(
    tmp_path: Path,
) -> None:
    shared = tmp_path / "shared"
    stamped_store(shared, "alpha")
    stamped_store(shared, "beta")
    rows = json.loads(cli("--json", "versions", shared).stdout)
    assert sorted({(r["image"], r["version"]) for r in rows}) == sorted(
        (i, s) for i in ("alpha", "beta") for s in STAMPS
    )
    text = cli("versions", shared).stdout.splitlines()
    assert text[0].split()[:2] == ["image", "version"] and len(text) == 7
    refused = cli("rollback", shared)
    assert (
        refused.returncode == 2 and "alpha.sif" in refused.stderr and "beta.sif" in refused.stderr
    )
    assert cli("rollback", shared / "beta.sif").returncode == 0
    assert os.readlink(shared / "beta.sif") == f"beta-v{STAMPS[1]}.sif"
    assert os.readlink(shared / "alpha.sif") == f"alpha-v{STAMPS[2]}.sif"
    dry = cli("--json", "--dry-run", "cleanup", "-k", "1", shared)
    assert dry.returncode == 1
    would = json.loads(dry.stdout)["result"]["removed"]
    real = cli("--json", "cleanup", "-k", "1", shared)
    assert real.returncode == 0 and json.loads(real.stdout)["removed"] == would
    assert {Path(p).name.split("-v")[0] for p in would} == {"alpha", "beta"}
    assert all(not Path(p).exists() for p in would)


def real_store(where: Path, name: str, busybox_sif: Path, count: int = 2) -> Path:
    """A store of ``count`` versions that are the real busybox SIF; the newest active."""
    where.mkdir(parents=True, exist_ok=True)
    for stamp in STAMPS[:count]:
        shutil.copyfile(busybox_sif, where / f"{name}-v{stamp}.sif")
    os.symlink(f"{name}-v{STAMPS[count - 1]}.sif", where / f"{name}.sif")
    return where


def test_versions_says_a_link_loop_and_reads_a_sidecar_as_its_version(
    tmp_path: Path, busybox_sif: Path
) -> None:
    store = real_store(tmp_path / "demo", "demo", busybox_sif)
    os.symlink("loop-b", tmp_path / "loop-a")
    os.symlink("loop-a", tmp_path / "loop-b")
    for command in ("versions", "rollback", "cleanup"):
        looped = cli(command, tmp_path / "loop-a")
        assert looped.returncode == 2 and looped.stdout == "", (command, looped)
        [line] = looped.stderr.splitlines()
        assert "loop-a" in line and "link loop" in line, line
    rows = json.loads(cli("--json", "versions", store).stdout)
    assert len(rows) == 2
    for suffix in (".lock", ".meta.json", ".build.log"):
        side = store / f"demo-v{STAMPS[0]}.sif{suffix}"
        side.write_text("{}\n")
        listed = cli("--json", "versions", side)
        assert listed.returncode == 0 and json.loads(listed.stdout) == rows, listed.stderr
        said = cli("versions", side)
        assert f"is a sidecar of version {STAMPS[0]}" in said.stderr, said.stderr
    orphan = store / "notes.sif.lock"  # beside no version: refused, not an empty table
    orphan.write_text("x\n")
    refused = cli("versions", orphan)
    assert refused.returncode == 2 and "not a store" in refused.stderr


def test_no_active_version_says_what_is_there_never_a_missing_current_sif(
    tmp_path: Path, busybox_sif: Path
) -> None:
    images = tmp_path / "images"
    real_store(images / "hello", "hello", busybox_sif, count=1)  # build -o images: one level down
    dry = cli("--dry-run", "deploy", images, tmp_path / "target")
    assert dry.returncode == 1 and "current.sif" not in dry.stderr, dry.stderr
    assert f"would copy {tmp_path / 'target' / f'hello-v{STAMPS[0]}.sif'}" in dry.stdout
    empty = tmp_path / "two"
    (empty / "a").mkdir(parents=True)
    (empty / "b").mkdir()
    for command in ("rollback", "deploy"):
        out = cli(command, empty, *([tmp_path / "t2"] if command == "deploy" else []))
        assert out.returncode == 2 and "current.sif is missing" not in out.stderr, out.stderr
        assert "holds no image version" in out.stderr and "a/, b/" in out.stderr, out.stderr
    os.symlink("l2.def", tmp_path / "l1.def")
    os.symlink("l1.def", tmp_path / "l2.def")
    for args in (("status", tmp_path / "l1.def"), ("build", tmp_path / "l1.def")):
        looped = cli(*args)
        assert looped.returncode == 2 and "link loop" in looped.stderr, (args, looped)
        assert "not found" not in looped.stderr and "does not exist" not in looped.stderr


def test_to_sif_into_a_stores_active_link_writes_a_version_of_it(
    tmp_path: Path, busybox_sif: Path
) -> None:
    store = real_store(tmp_path / "demo", "demo", busybox_sif, count=1)
    sandbox = tmp_path / "sb"
    made = cli("sandbox", "create", busybox_sif, "-o", sandbox)
    assert made.returncode == 0, made.stderr
    dry = cli("--dry-run", "sandbox", "to-sif", sandbox, store / "demo.sif")
    assert dry.returncode == 1 and dry.stdout.splitlines()[-1].startswith(f"would write {store}")
    version = store / f"demo-v{STAMPS[0]}.sif"
    before = version.read_bytes()
    over = cli("sandbox", "to-sif", sandbox, version)  # a version is never rewritten
    assert over.returncode == 2 and "never rewritten" in over.stderr and "demo.sif" in over.stderr
    assert version.read_bytes() == before
    assert sorted(n for n in os.listdir(store) if n != ".scitex") == [version.name, "demo.sif"]
    wrote = cli("--json", "sandbox", "to-sif", sandbox, store / "demo.sif")
    assert wrote.returncode == 0, wrote.stderr
    new = Path(json.loads(wrote.stdout)["artifact"])
    assert new.parent == store and new.name.startswith("demo-v") and new.is_file()
    assert (store / "demo.sif").is_symlink() and os.readlink(store / "demo.sif") == new.name
    listed = cli("--json", "versions", store)
    assert [r["active"] for r in json.loads(listed.stdout)] == [True, False]
    back = cli("rollback", store)
    assert back.returncode == 0 and "move it away" not in back.stderr + listed.stderr, back
    assert os.readlink(store / "demo.sif") == f"demo-v{STAMPS[0]}.sif"


def test_deploying_a_version_file_deploys_that_version(tmp_path: Path) -> None:
    stamped_store(tmp_path / "demo", "demo")
    old = tmp_path / "demo" / f"demo-v{STAMPS[0]}.sif"
    target = tmp_path / "shared"
    dry = cli("--dry-run", "deploy", old, target)
    assert dry.returncode == 1, dry.stderr
    assert f"would copy {target / old.name}" in dry.stdout
    assert f"at version {STAMPS[0]}" in dry.stdout and "named" in dry.stdout
    assert not target.exists()
    real = cli("--json", "deploy", old, target)
    assert real.returncode == 0, real.stderr
    assert json.loads(real.stdout)["version"] == STAMPS[0]
    assert os.readlink(target / "demo.sif") == old.name
    assert [p.name for p in target.glob("demo-v*.sif")] == [old.name]
    # the store's own active version is untouched
    assert os.readlink(tmp_path / "demo" / "demo.sif") == f"demo-v{STAMPS[-1]}.sif"


def test_a_base_image_of_a_flat_store_is_taken_as_its_store(tmp_path: Path) -> None:
    flat = tmp_path / "flat"
    flat.mkdir()
    for i, version in enumerate(("1.0.0", "1.1.0")):
        make_sif(flat / f"scitex-v{version}.sif", seed=i)
    make_sif(flat / "scitex-base-v1.0.sif", seed=9)
    os.symlink("scitex-v1.1.0.sif", flat / "current.sif")
    base = flat / "scitex-base-v1.0.sif"
    listed = cli("versions", base)
    assert listed.returncode == 0 and "move it away" not in listed.stderr
    assert "is a base image of the store" in listed.stderr
    assert str(flat / "scitex-v1.0.0.sif") in listed.stdout
    dry = cli("--dry-run", "cleanup", "-k", "0", base)
    assert dry.returncode == 1 and f"would remove {flat / 'scitex-v1.0.0.sif'}" in dry.stdout
    assert cli("rollback", base).returncode == 0
    assert os.readlink(flat / "current.sif") == "scitex-v1.0.0.sif"
    assert base.exists()


@pytest.mark.apptainer
def test_to_sif_into_the_link_path_of_a_new_store_writes_a_version(
    tmp_path: Path, busybox_sif: Path
) -> None:
    boxes = tmp_path / "sbx"
    assert cli("sandbox", "create", busybox_sif, "-d", boxes).returncode == 0
    (tmp_path / "ts" / "hello").mkdir(parents=True)
    link = tmp_path / "ts" / "hello" / "hello.sif"
    made = cli("--json", "sandbox", "to-sif", boxes / "current-sandbox", link)
    assert made.returncode == 0, made.stderr
    assert link.is_symlink()
    versions = sorted(p.name for p in link.parent.glob("hello-v*.sif"))
    assert len(versions) == 1 and os.readlink(link) == versions[0]
    assert json.loads(made.stdout)["artifact"] == str(link.parent / versions[0])
    (tmp_path / "hello.def").write_text(BUSYBOX_DEF)
    built = cli("build", tmp_path / "hello.def", "-o", tmp_path / "ts")
    assert built.returncode == 0, built.stderr
    for args in (("versions", link.parent), ("--dry-run", "rollback", link.parent)):
        out = cli(*args)
        assert "move it away" not in out.stderr, (args, out.stderr)
    assert cli("rollback", link.parent).returncode == 0
    assert os.readlink(link) == versions[0]


def test_a_failed_builds_log_is_taken_as_its_store(tmp_path: Path) -> None:
    stamped_store(tmp_path / "demo", "demo")
    log = tmp_path / "demo" / "demo-v20261206T170148Z.sif.build.log"
    log.write_text("FATAL: the build failed\n")
    rows = json.loads(cli("--json", "versions", log).stdout)
    assert [r["version"] for r in rows] == STAMPS[::-1]
    out = cli("versions", log)
    assert "a failed build's log" in out.stderr and "move it away" not in out.stderr
    dry = cli("--dry-run", "rollback", log)
    assert dry.returncode == 1 and f"would roll back to {STAMPS[1]}" in dry.stdout
    would = cli("--json", "--dry-run", "cleanup", "-k", "1", log)
    assert would.returncode == 1, would.stderr
    assert str(tmp_path / "demo" / f"demo-v{STAMPS[0]}.sif") in would.stdout
    # a store whose only build failed: the log still names it
    only = tmp_path / "solo"
    only.mkdir()
    first = only / "solo-v20261206T170148Z.sif.build.log"
    first.write_text("FATAL\n")
    for args in (("versions", first), ("--dry-run", "cleanup", first)):
        out = cli(*args)
        assert "does not exist" not in out.stderr and out.returncode in (0, 1), out.stderr
    refused = cli("rollback", first)
    assert refused.returncode != 0 and str(only / "solo.sif") in refused.stderr


def test_one_broken_image_in_a_shared_dir_never_stops_the_others_and_its_advice_works(
    tmp_path: Path,
) -> None:
    shared = tmp_path / "shared"
    stamped_store(shared, "alpha")
    stamped_store(shared, "beta")
    (shared / "beta.sif").unlink()
    os.symlink("beta-v20990101T000000Z.sif", shared / "beta.sif")  # dangling
    out = cli("cleanup", "-k", "1", shared)
    assert out.returncode == 2  # beta's refusal (its active version cannot be told)
    gone = {f"removed {shared / f'alpha-v{s}.sif'}" for s in STAMPS[:2]}
    assert set(out.stdout.splitlines()) == gone
    assert (shared / f"beta-v{STAMPS[0]}.sif").exists()
    # the advice names commands that work as written
    advice = re.findall(r"`([^`]+)`", out.stderr)
    assert f"switch VERSION {shared / 'beta.sif'}" in advice
    assert f"cleanup --force {shared / 'beta.sif'}" in advice
    assert cli("--dry-run", "cleanup", "--force", "-k", "1", shared / "beta.sif").returncode == 1
    assert cli("switch", STAMPS[1], shared / "beta.sif").returncode == 0
    assert os.readlink(shared / "beta.sif") == f"beta-v{STAMPS[1]}.sif"
    # a link moved away: its path still names the image's store
    (shared / "beta.sif").unlink()
    assert cli("switch", STAMPS[2], shared / "beta.sif").returncode == 0
    assert os.readlink(shared / "beta.sif") == f"beta-v{STAMPS[2]}.sif"


def test_a_directory_of_images_is_named_as_given_when_refused(tmp_path: Path) -> None:
    images = tmp_path / "images"
    images.mkdir()
    stamped_store(images / "hello", "hello")
    stamped_store(images / "hi", "hi")
    out = cli("rollback", images)
    assert out.returncode == 2 and out.stderr.startswith(f"error: {images}: holds 2 images")
    shared = tmp_path / "sh3"
    stamped_store(shared, "alpha")
    stamped_store(shared, "beta")
    out = cli("versions", "--protect", STAMPS[0], shared)
    assert out.returncode == 2 and out.stderr.startswith(f"error: {shared}: holds 2 images")


@pytest.mark.apptainer
def test_build_into_a_store_given_as_output_dir_does_not_nest(
    tmp_path: Path, busybox_sif: Path
) -> None:
    (tmp_path / "hello.def").write_text(BUSYBOX_DEF)
    images = tmp_path / "images"
    assert cli("build", tmp_path / "hello.def", "-o", images).returncode == 0
    store = images / "hello"
    again = cli("--json", "build", tmp_path / "hello.def", "-o", store, "--force")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["path"] == str(store / "hello.sif")
    assert not (store / "hello").exists()
    assert len(list(store.glob("hello-v*.sif"))) == 2
    rows = json.loads(cli("--json", "status", tmp_path, "-o", store).stdout)
    assert rows[0]["needs_rebuild"] is False and rows[0]["sif_path"] == str(store / "hello.sif")
