"""Store commands on the command line: --json and --dry-run everywhere, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from clirun import checkout_cli as cli
from images import BUSYBOX_DEF
from storekit import make_sif


def ok_json(*args: str):
    out = cli("--json", *args)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture()
def store(tmp_path: Path) -> Path:
    for i, ver in enumerate(["1.0", "2.0", "2.10"]):
        make_sif(tmp_path / f"scitex-v{ver}.sif", seed=i)
    os.symlink("scitex-v2.10.sif", tmp_path / "current.sif")
    return tmp_path


def test_versions_switch_rollback_cleanup(store: Path) -> None:
    rows = ok_json("versions", str(store))
    assert [r["version"] for r in rows] == ["2.10", "2.0", "1.0"] and rows[0]["active"]
    assert ok_json("switch", "1.0", str(store))["version"] == "1.0"
    out = cli("switch", "9", str(store))
    assert out.returncode == 2 and "available: 2.10, 2.0, 1.0" in out.stderr
    ok_json("switch", "2.10", str(store))
    assert ok_json("rollback", str(store))["version"] == "2.0"
    ok_json("versions", str(store), "--protect", "1.0")
    assert ok_json("cleanup", str(store), "--keep", "0")["removed"] == [
        str(store / "scitex-v2.10.sif")
    ]
    rows = ok_json("versions", str(store))
    assert [(r["version"], r["protected"]) for r in rows] == [("2.0", False), ("1.0", True)]
    out = cli("rollback", str(store))  # 1.0 is older: fine; then nothing older
    assert out.returncode == 0
    out = cli("rollback", str(store))
    assert out.returncode == 2 and out.stderr.startswith("error: no version older than 1.0")


def test_dry_run_changes_nothing(store: Path) -> None:
    before = sorted(os.listdir(store))
    for args in (
        ("switch", "1.0", str(store)),
        ("rollback", str(store)),
        ("cleanup", str(store), "-k", "0"),
    ):
        out = cli("--json", "--dry-run", *args)
        assert out.returncode == 1, out.stderr  # something would change (pip-tools' habit)
        assert "dry_run_commands" in json.loads(out.stdout)
    assert sorted(os.listdir(store)) == before
    assert os.readlink(store / "current.sif") == "scitex-v2.10.sif"
    removed = json.loads(cli("--json", "--dry-run", "cleanup", str(store), "-k", "0").stdout)[
        "result"
    ]["removed"]
    assert len(removed) == 2


def test_deploy_and_its_dry_run(store: Path, tmp_path: Path) -> None:
    target = tmp_path / "target"
    planned = json.loads(cli("--json", "--dry-run", "deploy", str(store), str(target)).stdout)
    assert planned["result"]["copied"] == [str(target / "scitex-v2.10.sif")] and not target.exists()
    done = ok_json("deploy", str(store), str(target))
    assert done["version"] == "2.10" and done["bytes_copied"] > 0
    again = ok_json("deploy", str(store), str(target))
    assert again["copied"] == [] and again["skipped"] == [str(target / "scitex-v2.10.sif")]


@pytest.mark.apptainer
def test_build_status_and_sandbox_commands(tmp_path: Path, busybox_sif: Path) -> None:
    (tmp_path / "bb.def").write_text(
        BUSYBOX_DEF + "\n%arguments\n    X=0\n\n%labels\n    x {{ X }}\n"
    )
    planned = json.loads(cli("--json", "--dry-run", "build", str(tmp_path / "bb.def")).stdout)
    assert any("apptainer" in c and " build " in c for c in planned["dry_run_commands"])
    assert not (tmp_path / "bb").exists()
    built = ok_json("build", str(tmp_path / "bb.def"), "--build-arg", "X=1")
    assert built["built"] and built["path"] == str(tmp_path / "bb" / "bb.sif")
    again = ok_json("build", str(tmp_path / "bb.def"), "--build-arg", "X=1")
    assert not again["built"] and again["version"] == built["version"]
    status = ok_json("status", str(tmp_path))
    assert status[0]["name"] == "bb" and status[0]["needs_rebuild"] is False
    assert cli("status", str(tmp_path), "--check").returncode == 0
    (tmp_path / "bb.def").write_text(
        BUSYBOX_DEF + "\n%arguments\n    X=0\n\n%labels\n    y {{ X }}\n"
    )
    assert cli("status", str(tmp_path), "--check").returncode == 1

    boxes = tmp_path / "boxes"
    created = ok_json("sandbox", "create", str(busybox_sif), "-d", str(boxes))
    assert Path(created["path"]).parent == boxes
    assert ok_json("sandbox", "list", str(boxes))[0]["active"]
    assert (
        cli("sandbox", "maintain", str(boxes / "current-sandbox"), "sh", "-c", "exit 4").returncode
        == 4
    )
    ok_json("sandbox", "ps1", str(boxes / "current-sandbox"))
    sif = ok_json("sandbox", "to-sif", str(boxes / "current-sandbox"), str(tmp_path / "back.sif"))
    assert Path(sif["path"]).is_file()
    planned = json.loads(
        cli("--json", "--dry-run", "sandbox", "create", str(busybox_sif), "-d", str(boxes)).stdout
    )
    assert any("--sandbox" in c for c in planned["dry_run_commands"])
    assert len(ok_json("sandbox", "list", str(boxes))) == 1
    assert ok_json("sandbox", "cleanup", str(boxes), "-k", "0")["removed"] == []


def test_sandbox_switch_rollback_cleanup_share_the_store_commands(tmp_path: Path) -> None:
    for ts in ("20260101_000000", "20260102_000000"):
        (tmp_path / f"sandbox-{ts}").mkdir()
    os.symlink("sandbox-20260102_000000", tmp_path / "current-sandbox")
    assert ok_json("sandbox", "rollback", str(tmp_path))["version"] == "20260101_000000"
    assert os.readlink(tmp_path / "current-sandbox") == "sandbox-20260101_000000"
    switched = ok_json("sandbox", "switch", "20260102_000000", str(tmp_path))
    assert switched["link"] == str(tmp_path / "current-sandbox")
    assert os.readlink(tmp_path / "current-sandbox") == "sandbox-20260102_000000"
    planned = cli("--dry-run", "sandbox", "cleanup", str(tmp_path), "-k", "0")
    assert (
        planned.returncode == 1
        and f"would remove {tmp_path / 'sandbox-20260101_000000'}" in planned.stdout
    )
    assert (tmp_path / "sandbox-20260101_000000").is_dir()
    assert ok_json("sandbox", "cleanup", str(tmp_path), "-k", "0")["removed"] == [
        str(tmp_path / "sandbox-20260101_000000")
    ]
    assert not (tmp_path / "sandbox-20260101_000000").exists()
    assert cli("sandbox", "switch", "19990101_000000", str(tmp_path)).returncode != 0


def test_cleanup_names_only_an_orphan_log_a_build_that_never_published(store: Path) -> None:
    (store / "scitex-v1.0.sif.build.log").write_text("built 1.0\n")  # 1.0's own log
    (store / "scitex-v0.5.sif.build.log").write_text("failed build\n")  # no such version
    out = cli("cleanup", str(store), "--keep", "2")
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(" ", 1)[1].partition(" (")[::2] for line in out.stdout.splitlines())
    sidecar = str(store / "scitex-v1.0.sif.build.log")
    assert sidecar in lines and lines[sidecar] == "", out.stdout
    orphan = str(store / "scitex-v0.5.sif.build.log")
    if orphan in lines:
        assert lines[orphan].startswith("the log of a build that never published"), out.stdout


def test_a_cleanup_stopped_part_way_reports_what_it_removed_and_the_real_file(
    tmp_path: Path,
) -> None:
    store = tmp_path / "demo"
    store.mkdir()
    stamps = ["20261206T140148Z", "20261206T150148Z", "20261206T160148Z", "20261206T170148Z"]
    for i, stamp in enumerate(stamps):
        make_sif(store / f"demo-v{stamp}.sif", seed=i)
    os.symlink(f"demo-v{stamps[-1]}.sif", store / "demo.sif")
    stuck = store / f"demo-v{stamps[1]}.sif"
    if subprocess.run(["chattr", "+i", str(stuck)], capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not supported here")
    try:
        out = cli("cleanup", "-k", "1", str(store))
        as_json = cli("--json", "cleanup", "-k", "1", str(store))
    finally:
        subprocess.run(["chattr", "-i", str(stuck)], check=True)
    assert out.returncode == 2
    assert out.stdout.splitlines() == [f"removed {store / f'demo-v{stamps[2]}.sif'}"]
    assert f"error: {stuck}: operation not permitted" in out.stderr
    assert ".removing" not in out.stderr and "1 removed before it" in out.stderr
    assert json.loads(as_json.stdout)["removed"] == []
    assert stuck.exists() and (store / f"demo-v{stamps[0]}.sif").exists()
