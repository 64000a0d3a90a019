"""The lock, verify and sbom commands: output, --json and exit codes that gate CI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from clirun import cli as run_cli

from scitex_container.apptainer.lock.lockfile import Lock, read_lock, write_lock


def test_lock_diff_exit_codes_and_json(tmp_path):
    a = write_lock(
        Lock(pip={"numpy": "2.1.0", "gone": "1"}, dpkg={"libc6": "2.36"}), tmp_path / "a.lock"
    )
    b = write_lock(
        Lock(pip={"numpy": "2.1.1", "new": "3"}, dpkg={"libc6": "2.36"}), tmp_path / "b.lock"
    )
    same = run_cli("lock", "diff", a, a)
    assert same.returncode == 0 and "identical" in same.stdout
    out = run_cli("lock", "diff", a, b)
    assert out.returncode == 1
    assert "~ pip:numpy: 2.1.0 -> 2.1.1" in out.stdout and "- pip:gone=1" in out.stdout
    data = json.loads(run_cli("--json", "lock", "diff", a, b).stdout)
    assert data["identical"] is False and data["diff_count"] == 3
    assert data["changed"]["pip:numpy"] == {str(a): "2.1.0", str(b): "2.1.1"}
    assert data["only_in_b"] == {"pip:new": "3"}


def test_malformed_lock_is_exit_2_naming_file_and_line(tmp_path):
    bad = tmp_path / "bad.lock"
    bad.write_text("# scitex-container lock\n[pip]\nnumpy==1\nnumpy==2\n")
    out = run_cli("lock", "diff", bad, bad)
    assert out.returncode == 2
    assert f"{bad}:4" in out.stderr and len(out.stderr.strip().splitlines()) == 1


@pytest.mark.apptainer
def test_capture_verify_sbom_commands_on_a_real_image(lock_sif, tmp_path):
    image = tmp_path / "mixed.sif"
    shutil.copyfile(lock_sif, image)
    lock_path = tmp_path / "mixed.sif.lock"
    out = run_cli("lock", "capture", image, "-o", lock_path, "--no-date")
    assert out.returncode == 0, out.stderr
    assert read_lock(lock_path).pip["scitex-lock-alpha"] == "1.0.0"
    printed = run_cli("lock", "capture", image, "--no-date")
    assert printed.stdout.startswith("# scitex-container lock\n") and "[dpkg]\n" in printed.stdout
    assert run_cli("lock", "diff", lock_path, image).returncode == 0

    ok = run_cli("verify", image)  # the packages match; no digest recorded outside a store
    assert ok.returncode == 4, ok.stdout + ok.stderr
    assert "pip_lock    pass" in ok.stdout and "overall     unverified" in ok.stdout
    lock_path.write_text(
        lock_path.read_text().replace("scitex-lock-alpha==1.0.0", "scitex-lock-alpha==0.1")
    )
    bad = run_cli("--json", "verify", image)
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["pip_lock"]["diff_count"] == 1

    frozen = json.loads(run_cli("--json", "lock", "freeze", image, "-o", tmp_path / "f").stdout)
    assert Path(frozen["pip"]).name == "requirements-lock.txt"

    sbom = run_cli("sbom", image, "-o", tmp_path / "x.cdx.json", "--embed")
    assert sbom.returncode == 0, sbom.stderr
    assert json.loads((tmp_path / "x.cdx.json").read_text())["bomFormat"] == "CycloneDX"
    listing = subprocess.run(
        ["apptainer", "sif", "list", str(image)], capture_output=True, text=True
    )
    assert "SBOM" in listing.stdout


def test_verify_missing_image_exits_2_naming_it(tmp_path):
    out = run_cli("verify", tmp_path / "nope.sif")
    assert out.returncode == 2 and f"{tmp_path / 'nope.sif'}: does not exist" in out.stderr


def test_lock_archive_dry_run_creates_nothing_and_says_what_it_would_fetch(tmp_path):
    import subprocess

    lock = tmp_path / "t.lock"
    lock.write_text("# scitex-container lock\n[dpkg]\nhello=2.10-3\n")
    archive = tmp_path / "arc"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "scitex_container",
            "--dry-run",
            "lock",
            "archive",
            lock,
            "-o",
            archive,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stderr  # something would change
    assert "would fetch 1 artifacts" in done.stdout
    assert not archive.exists()
