"""env_snapshot: validated against the shipped JSON Schema in every layout, and never raising."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import jsonschema
import pytest

import scitex_container
from scitex_container.apptainer.store import sidecars as layout
from scitex_container.files.fsutil import sha256_file
from scitex_container.host.snapshot import env_snapshot, snapshot_schema
from scitex_container.host.snapshot_container import active_images


def validate(snap: dict) -> dict:
    jsonschema.validate(snap, snapshot_schema(), format_checker=jsonschema.FormatChecker())
    assert json.loads(json.dumps(snap)) == snap
    datetime.fromisoformat(snap["timestamp"])
    return snap


def git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
    }
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env
    ).stdout.strip()


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    (path / "a.txt").write_text("a\n")
    git(path, "add", "a.txt")
    git(path, "commit", "-q", "-m", "first")
    return path


def test_schema_itself_is_valid() -> None:
    jsonschema.Draft202012Validator.check_schema(snapshot_schema())


def test_the_schema_rejects_what_it_should() -> None:
    snap = env_snapshot("/nonexistent-containers-dir")
    bad = json.loads(json.dumps(snap))
    bad["container"]["image_sha256"] = "not-a-digest"
    with pytest.raises(jsonschema.ValidationError):
        validate(bad)
    del snap["host"]
    with pytest.raises(jsonschema.ValidationError):
        validate(snap)


def test_missing_containers_dir_degrades_with_an_error(tmp_path: Path) -> None:
    snap = validate(scitex_container.env_snapshot(tmp_path / "missing"))
    assert snap["container"]["containers_dir"] is None
    assert snap["container"]["active_version"] is None
    assert any(e.startswith("container.containers_dir") for e in snap["errors"])
    assert "version" not in snap["container"]  # the seed left it out without a directory
    assert snap["system"]["cpu_count"] == os.cpu_count()
    assert snap["system"]["kernel"] == os.uname().release


@pytest.mark.apptainer
def test_flat_layout_current_sif(tmp_path: Path, busybox_sif: Path) -> None:
    image = tmp_path / "scitex-v2.3.0.sif"
    shutil.copy2(busybox_sif, image)
    os.symlink(image.name, tmp_path / "current.sif")
    older = tmp_path / "scitex-v2.2.0.sif"
    shutil.copy2(busybox_sif, older)
    (tmp_path / "requirements-lock.txt").write_text("click==8.1.7\n")
    (tmp_path / "dpkg-lock.txt").write_text("bash=5.2\n")
    (tmp_path / "unrelated-lock.txt").write_text("x\n")
    layout.sidecar(image, layout.META_SUFFIX).write_text(json.dumps({"inputs_hash": "f" * 64}))
    layout.sidecar(image, layout.LOCK_SUFFIX).write_text("# scitex-container lock\n")
    snap = validate(env_snapshot(tmp_path))
    c = snap["container"]
    assert c["active_version"] == "2.3.0"
    assert c["image_path"] == str(image)
    assert c["image_sha256"] == sha256_file(image)
    assert c["inputs_hash"] == "f" * 64
    assert c["lock_hash"] == sha256_file(layout.sidecar(image, layout.LOCK_SUFFIX))
    assert c["apptainer_version"] and c["apptainer_version"][0].isdigit()
    # the seed's fields, beside ours
    assert (c["version"], c["sif_path"], c["sif_sha256"]) == (
        "2.3.0",
        str(image),
        sha256_file(image),
    )
    names = [(f["name"], f["kind"]) for f in snap["lock_file_entries"]]
    assert ("requirements-lock.txt", "pip") in names and ("dpkg-lock.txt", "dpkg") in names
    assert ("scitex-v2.3.0.sif.lock", "lock") in names
    assert "unrelated-lock.txt" not in [n for n, _ in names]
    for entry in snap["lock_file_entries"]:
        assert entry["sha256"] == sha256_file(entry["path"])
    assert snap["lock_files"] == {
        "pip": sha256_file(tmp_path / "requirements-lock.txt"),
        "dpkg": sha256_file(tmp_path / "dpkg-lock.txt"),
    }


@pytest.mark.apptainer
def test_per_image_directories_and_a_sandbox(tmp_path: Path, busybox_sif: Path) -> None:
    demo = tmp_path / "demo"
    demo.mkdir()
    shutil.copy2(busybox_sif, demo / "demo-v20260101_120000.sif")
    os.symlink("demo-v20260101_120000.sif", demo / "demo.sif")
    box = tmp_path / "box"
    (box / "box-v20260102_000000-sandbox").mkdir(parents=True)
    os.symlink("box-v20260102_000000-sandbox", box / "box-sandbox")
    (tmp_path / "dangling").mkdir()
    os.symlink("dangling-v1.sif", tmp_path / "dangling" / "dangling.sif")
    found = {i["name"]: i for i in active_images(tmp_path)}
    assert set(found) == {"demo", "box"}
    snap = validate(env_snapshot(tmp_path))
    images = {i["name"]: i for i in snap["container"]["images"]}
    assert images["box"]["sandbox"] is True and images["box"]["image_sha256"] is None
    assert images["demo"]["version"] == "20260101_120000"
    assert images["demo"]["image_sha256"] == sha256_file(demo / "demo-v20260101_120000.sif")
    assert snap["container"]["active_version"] in ("20260101_120000", "20260102_000000")


def test_dev_repos_commit_branch_and_dirty(repo: Path, tmp_path: Path) -> None:
    clean = validate(env_snapshot(tmp_path, [repo]))["dev_repos"][0]
    assert clean["commit"] == git(repo, "rev-parse", "HEAD")
    assert clean["branch"] == "main" and clean["dirty"] is False and clean["untracked"] is False
    (repo / "new.txt").write_text("new\n")
    untracked = validate(env_snapshot(tmp_path, [repo]))["dev_repos"][0]
    assert untracked["dirty"] is True and untracked["untracked"] is True  # the seed's "dirty"
    (repo / "a.txt").write_text("changed\n")
    dirty = validate(env_snapshot(tmp_path, [repo]))["dev_repos"][0]
    assert dirty["dirty"] is True and dirty["untracked"] is True
    git(repo, "checkout", "-q", "--detach")
    assert "branch" not in validate(env_snapshot(tmp_path, [repo]))["dev_repos"][0]


def test_a_bad_repo_or_argument_never_raises(tmp_path: Path) -> None:
    not_repo = tmp_path / "plain"
    not_repo.mkdir()
    snap = validate(env_snapshot(tmp_path, [not_repo, tmp_path / "gone"]))
    plain, gone = snap["dev_repos"]
    assert "commit" not in plain and "not a git repository" in plain["error"]
    assert gone["error"] == "path does not exist"  # the seed's words
    assert any("dev_repos" in e for e in snap["errors"])
    weird = env_snapshot(containers_dir=12345, dev_repos=[object()])  # type: ignore[arg-type]
    validate(weird)
    assert any("containers_dir" in e for e in weird["errors"])
    assert any("dev_repos" in e for e in weird["errors"])
    assert weird["system"]["cpu_count"] == os.cpu_count()  # the rest is still recorded


def test_host_packages_are_in_the_snapshot(host_packages: dict, tmp_path: Path) -> None:
    snap = validate(env_snapshot(tmp_path))
    assert snap["host"]["texlive"]["installed"] is True  # where the seed had it
    assert snap["host"]["imagemagick"]["installed"] is True
    assert snap["system"]["os_id"] == "debian"


@pytest.mark.parametrize(
    ("subdir", "link", "target", "name", "version"),
    [
        ("", "current.sif", "scitex-v2.3.0.sif", "scitex", "2.3.0"),
        (
            "my-viewer",
            "my-viewer.sif",
            "my-viewer-v20260101_120000.sif",
            "my-viewer",
            "20260101_120000",
        ),
        ("demo", "demo.sif", "demo-v1.0-rc1.sif", "demo", "1.0-rc1"),
        ("box", "box-sandbox", "box-v3-sandbox", "box", "3"),
        ("", "current-sandbox", "sandbox-20260225_173700", "sandbox", "20260225_173700"),
    ],
)
def test_version_names(
    tmp_path: Path, subdir: str, link: str, target: str, name: str, version: str
) -> None:
    """Every layout the image store writes is read back through the store."""
    where = tmp_path / subdir if subdir else tmp_path
    where.mkdir(exist_ok=True)
    path = where / target
    path.write_bytes(b"x") if target.endswith(".sif") else path.mkdir()
    os.symlink(target, where / link)
    (image,) = active_images(tmp_path)
    assert (image["name"], image["version"], image["path"]) == (name, version, str(path))


def test_the_seeds_lock_names_are_read(tmp_path: Path) -> None:
    (tmp_path / "requirements_lock.txt").write_text("numpy==1.26.0\n")
    (tmp_path / "dpkg.lock").write_text("bash=5.2\n")
    (tmp_path / "requirements-lock.txt").write_text("numpy==2.0.0\n")  # ours: the seed's wins
    snap = validate(env_snapshot(tmp_path))
    assert snap["lock_files"] == {
        "pip": sha256_file(tmp_path / "requirements_lock.txt"),
        "dpkg": sha256_file(tmp_path / "dpkg.lock"),
    }
    kinds = {(e["name"], e["kind"]) for e in snap["lock_file_entries"]}
    assert {("requirements_lock.txt", "pip"), ("dpkg.lock", "dpkg")} <= kinds


SEED_SNAPSHOT = {  # what the seed's env_snapshot wrote (restated)
    "schema_version": "1.0",
    "timestamp": "2026-02-25T10:00:00+00:00",
    "container": {
        "version": "2.19.5",
        "sif_path": "/opt/c/scitex-v2.19.5.sif",
        "sif_sha256": "a" * 64,
    },
    "host": {"texlive": {"installed": True, "version": "pdfTeX 3.14"}},
    "dev_repos": [
        {"name": "r", "path": "/r", "commit": "b" * 40, "branch": "main", "dirty": False}
    ],
    "lock_files": {"pip": "c" * 64},
}


def test_read_snapshot_reads_the_seeds_and_our_earlier_documents(tmp_path: Path) -> None:
    from scitex_container.host.snapshot_seed import read_snapshot

    seed = read_snapshot(SEED_SNAPSHOT)
    assert seed["container"]["sif_path"] == "/opt/c/scitex-v2.19.5.sif"  # nothing present changes
    assert seed["host"]["texlive"]["version"] == "pdfTeX 3.14"
    assert seed["container"]["image_path"] is None and seed["errors"] == []
    assert seed["lock_files"] == {"pip": "c" * 64}
    current = env_snapshot(tmp_path)
    assert read_snapshot(current) == current
    earlier = {  # ours before the seed's schema was restored (schema_version 1)
        **{k: v for k, v in current.items() if k not in ("system", "lock_file_entries")},
        "schema_version": 1,
        "host": {
            **current["system"],
            "packages": {"texlive": {"installed": False, "version": None}},
        },
        "lock_files": [],
        "container": {k: v for k, v in current["container"].items() if k not in ("version",)},
    }
    upgraded = validate(read_snapshot(earlier))
    assert upgraded["host"] == {"texlive": {"installed": False, "version": "", "binaries": []}}
    assert upgraded["system"]["cpu_count"] == os.cpu_count()


def test_a_repositorys_own_config_runs_nothing_while_it_is_recorded(repo: Path, tmp_path) -> None:
    """A cloned repo's `core.fsmonitor` is a command git would run on `status`."""
    ran = tmp_path / "ran"
    git(repo, "config", "core.fsmonitor", f"touch {ran}; false")
    (repo / "untracked.txt").write_text("x\n")
    snap = env_snapshot("/nonexistent-containers-dir", dev_repos=[str(repo)])
    assert not ran.exists()
    entry = next(r for r in snap["dev_repos"] if r["path"] == str(repo))
    assert entry["dirty"] is True


def test_several_images_with_no_one_default_give_no_active_image(tmp_path):
    """The one default-store rule (verify and switch refuse here): no image picked quietly."""
    from storekit import make_sif

    from scitex_container.host.snapshot import env_snapshot

    containers = tmp_path / "containers"
    containers.mkdir()
    for name in ("a", "b"):
        (containers / f"{name}.def").write_text("Bootstrap: scratch\n")
        (containers / name).mkdir()
        make_sif(containers / name / f"{name}-v20260101T000000Z.sif")
        (containers / name / f"{name}.sif").symlink_to(f"{name}-v20260101T000000Z.sif")
    data = env_snapshot(containers)
    assert len(data["container"]["images"]) == 2, data
    assert data["container"]["active_version"] is None, data["container"]
    assert any(e.startswith("container.active_version:") for e in data["errors"]), data["errors"]
