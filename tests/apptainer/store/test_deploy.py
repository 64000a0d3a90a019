"""deploy(): temp-then-rename copies, same-sha256 skips, the target's link switched last."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from storekit import make_sif, sha256

from scitex_container.apptainer import deploy, get_active_version
from scitex_container.apptainer.store.deploy import deploy_store
from scitex_container.errors import StoreError
from scitex_container.process import runner

TEST_USER = "scitex-test"


@pytest.fixture()
def source(tmp_path: Path, busybox_sif: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    for i, ver in enumerate(["1.0", "2.0"]):
        make_sif(src / f"scitex-v{ver}.sif", busybox_sif, pad=64 * 1024, seed=i)
    for n in (1, 2):
        make_sif(src / f"scitex-base-v{n}.sif", busybox_sif, seed=10 + n)
    os.symlink("scitex-v2.0.sif", src / "current.sif")
    return src


@pytest.mark.apptainer
def test_deploy_copies_active_and_newest_base_then_switches(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "opt" / "singularity"
    assert deploy(source, target) is None
    names = sorted(os.listdir(target))
    assert [n for n in names if not n.startswith(".")] == [
        "current.sif",
        "scitex-base-v2.sif",
        "scitex-base-v2.sif.meta.json",
        "scitex-v2.0.sif",
        "scitex-v2.0.sif.meta.json",
    ]
    assert sha256(target / "scitex-v2.0.sif") == sha256(source / "scitex-v2.0.sif")
    assert os.readlink(target / "current.sif") == "scitex-v2.0.sif"
    assert (
        subprocess.run(["apptainer", "exec", str(target / "current.sif"), "true"]).returncode == 0
    )


def test_unchanged_deploy_copies_nothing(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "t"
    first = deploy_store(source, target)
    inode = os.stat(target / "scitex-v2.0.sif").st_ino
    again = deploy_store(source, target)
    assert again.copied == () and again.bytes_copied == 0
    assert {p.name for p in again.skipped} == {"scitex-v2.0.sif", "scitex-base-v2.sif"}
    assert os.stat(target / "scitex-v2.0.sif").st_ino == inode and first.bytes_copied > 0


def test_changed_active_is_copied_and_switched(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "t"
    deploy_store(source, target)
    os.unlink(source / "current.sif")
    os.symlink("scitex-v1.0.sif", source / "current.sif")
    result = deploy_store(source, target)
    assert [p.name for p in result.copied] == ["scitex-v1.0.sif"]
    assert get_active_version(target) == "1.0" and (target / "scitex-v2.0.sif").exists()


def test_a_differing_target_file_is_replaced(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "t"
    deploy_store(source, target)
    (target / "scitex-v2.0.sif").write_bytes(b"corrupt" * 100)
    result = deploy_store(source, target)
    assert [p.name for p in result.copied] == ["scitex-v2.0.sif"]
    assert sha256(target / "scitex-v2.0.sif") == sha256(source / "scitex-v2.0.sif")


def test_dry_run_copies_nothing(source: Path, tmp_path: Path) -> None:
    target = tmp_path / "t"
    with runner.dry_run():
        result = deploy_store(source, target)
    assert {p.name for p in result.copied} == {"scitex-v2.0.sif", "scitex-base-v2.sif"}
    assert not target.exists()


def test_source_without_active_version(source: Path, tmp_path: Path) -> None:
    os.unlink(source / "current.sif")
    with pytest.raises(StoreError, match="no active version"):
        deploy(source, tmp_path / "t")


def test_deploys_a_build_store(tmp_path: Path, busybox_sif: Path) -> None:
    img = tmp_path / "out" / "demo"
    img.mkdir(parents=True)
    make_sif(img / "demo-v20260101_000000.sif", busybox_sif, seed=5)
    os.symlink("demo-v20260101_000000.sif", img / "demo.sif")
    deploy(img, tmp_path / "t")
    assert os.readlink(tmp_path / "t" / "demo.sif") == "demo-v20260101_000000.sif"


@pytest.fixture()
def shared(busybox_sif: Path):
    """A world-readable scratch dir (pytest's tmp dirs are private to root)."""
    path = Path(tempfile.mkdtemp(prefix="scitex-deploy-", dir="/tmp"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("runuser") is None, reason="needs root to switch user"
)
def test_unwritable_target_is_a_clear_error_and_nothing_is_copied(
    shared: Path, busybox_sif: Path
) -> None:
    import pwd

    try:
        pwd.getpwnam(TEST_USER)
    except KeyError:
        pytest.skip(f"user {TEST_USER} is missing (scripts/setup-host.sh creates it)")
    src = shared / "src"
    src.mkdir()
    make_sif(src / "scitex-v1.sif", busybox_sif, seed=1)
    os.symlink("scitex-v1.sif", src / "current.sif")
    for p in (src, *src.iterdir()):
        os.chmod(p, 0o755, follow_symlinks=False) if not p.is_symlink() else None
    target = shared / "target"
    target.mkdir(mode=0o755)
    from storekit import python_env, python_for

    code = (
        "import sys; from scitex_container.cli.main import main; "
        "sys.argv[0]='x'; main(sys.argv[1:])"
    )
    for dest in (target, target / "sub"):
        out = subprocess.run(
            [
                "runuser",
                "-u",
                TEST_USER,
                "--",
                python_for(TEST_USER),
                "-c",
                code,
                "deploy",
                str(src),
                str(dest),
            ],
            capture_output=True,
            text=True,
            env=python_env(),
            timeout=60,
        )
        assert out.returncode == 2, out.stderr
        assert str(target) in out.stderr and (
            "permission denied" in out.stderr and "owner root, mode 07" in out.stderr
        )
        assert len(out.stderr.strip().splitlines()) == 1
    assert os.listdir(target) == []
