"""install_packages with the shipped installer and real apt/dpkg; the script ships in the wheel."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from scitex_container.host import install_packages
from scitex_container.host.install import SCRIPT_NAME, script_resource
from scitex_container.process import runner

REPO = Path(__file__).resolve().parents[2]


def dpkg_installed(package: str) -> bool:
    out = subprocess.run(
        ["dpkg-query", "-W", "-f=${db:Status-Status}", package],
        check=False,
        capture_output=True,
        text=True,
    )
    return out.returncode == 0 and out.stdout == "installed"


def test_install_reports_each_group_and_the_shipped_script(host_packages: dict) -> None:
    assert set(host_packages) == {"texlive", "imagemagick", "script"}
    for group in ("texlive", "imagemagick"):
        assert host_packages[group]["status"] == "installed"  # the reference's word
        assert host_packages[group]["state"] in ("present", "installed")
        assert host_packages[group]["returncode"] == 0
    script = Path(host_packages["script"])
    assert script.is_absolute() and script.name == SCRIPT_NAME and script.is_file()
    assert Path(os.fspath(script_resource())) == script
    assert dpkg_installed("texlive-latex-base") and dpkg_installed("imagemagick")


def test_second_install_is_idempotent_and_installs_nothing(host_packages: dict) -> None:
    again = install_packages(all=True)
    # the reference says `installed` for a group that is there; `state` says nothing ran
    assert again["texlive"]["status"] == again["imagemagick"]["status"] == "installed"
    assert again["texlive"]["state"] == again["imagemagick"]["state"] == "present"


def test_check_only_really_asks_dpkg(host_packages: dict) -> None:
    present = install_packages(texlive=True, check_only=True)
    assert present["texlive"] == {
        "status": "installed",
        "returncode": 0,
        "detail": None,
        "state": "present",
    }
    assert present["check"] == {"returncode": 0}
    assert present["imagemagick"]["status"] == "skipped"
    assert present["imagemagick"]["returncode"] is None
    # The recommended TeX Live set is not part of the test bed: --check must say so,
    # exactly when dpkg says so, and install nothing.
    extra = install_packages(texlive=True, texlive_recommended=True, check_only=True)
    expected = dpkg_installed("texlive-latex-recommended") and dpkg_installed(
        "texlive-fonts-recommended"
    )
    assert extra["texlive"]["status"] == ("installed" if expected else "missing")
    assert extra["check"] == {"returncode": 0 if expected else 1}
    assert extra["texlive"]["returncode"] == (0 if expected else 1)
    if not expected:
        assert "texlive-latex-recommended" in extra["texlive"]["detail"]
        assert not dpkg_installed("texlive-latex-recommended")


def test_no_group_chosen_means_every_group(host_packages: dict) -> None:
    """The reference's install_packages: no flag is --all (it used to do nothing and pass)."""
    checked = install_packages(check_only=True)
    assert checked["texlive"]["status"] == checked["imagemagick"]["status"] == "installed"
    assert checked["check"] == {"returncode": 0}
    with runner.dry_run():
        result = install_packages()
    assert result["texlive"]["state"] == result["imagemagick"]["state"] == "present"


def test_dry_run_records_the_install_without_sudo_as_root(host_packages: dict) -> None:
    if os.geteuid() != 0:
        pytest.skip("checks the root case")
    with runner.dry_run() as rec:
        result = install_packages(texlive=True, texlive_recommended=True, use_sudo=True)
    if result["texlive"]["state"] == "present":
        pytest.skip("texlive-latex-recommended is installed here")
    assert result["texlive"]["status"] == "missing"
    assert rec.commands == [("bash", result["script"], "--texlive-recommended")]


def _as_nobody(code: str) -> subprocess.CompletedProcess:
    """``python -c CODE`` as the user nobody, importing this checkout's source."""
    # The system Python: the test interpreter may live under /root, unreadable to nobody.
    python = "/usr/bin/python3" if os.access("/usr/bin/python3", os.X_OK) else sys.executable
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "PYTHONPATH": str(REPO / "src")}
    argv = ["runuser", "-u", "nobody", "--", "env", *[f"{k}={v}" for k, v in env.items()]]
    return subprocess.run(
        [*argv, python, "-c", code], check=False, capture_output=True, text=True, timeout=120
    )


def test_non_root_without_sudo_fails_clearly(host_packages: dict) -> None:
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        pytest.skip("needs root to switch to an unprivileged user")
    code = (
        "import json; from scitex_container.host import install_packages; "
        "print(json.dumps(install_packages(texlive=True, texlive_recommended=True)))"
    )
    out = _as_nobody(code)
    if out.returncode != 0 and "Permission denied" in out.stderr:
        pytest.skip("the test venv is not readable by nobody")
    assert out.returncode == 0, out.stderr
    import json

    result = json.loads(out.stdout)
    if result["texlive"]["state"] == "present":
        pytest.skip("texlive-latex-recommended is installed here")
    assert result["texlive"]["status"] == "failed"
    assert result["texlive"]["returncode"] == 1
    assert "needs root" in result["texlive"]["detail"]
    # Asked for sudo, a non-root caller's install goes through `sudo -n`.
    code = (
        "import json; from scitex_container.process import runner; "
        "from scitex_container.host import install_packages\n"
        "with runner.dry_run() as rec:\n"
        "    install_packages(texlive=True, texlive_recommended=True, use_sudo=True)\n"
        "print(json.dumps(rec.commands))"
    )
    out = _as_nobody(code)
    assert out.returncode == 0, out.stderr
    (argv,) = json.loads(out.stdout)
    assert argv[:3] == ["sudo", "-n", "--"] and argv[3:5] == ["bash", result["script"]]


def test_script_is_strict_quoted_and_rejects_unknown_options() -> None:
    script = Path(os.fspath(script_resource()))
    text = script.read_text()
    assert "set -euo pipefail" in text
    out = subprocess.run(
        ["bash", str(script), "--bogus"], check=False, capture_output=True, text=True
    )
    assert out.returncode == 2 and "unknown option: --bogus" in out.stderr
    none = subprocess.run(["bash", str(script)], check=False, capture_output=True, text=True)
    assert none.returncode == 2 and none.stdout == ""


def test_wheel_ships_the_installer_and_schema_and_it_runs_from_there(tmp_path: Path) -> None:
    wheel_dir = tmp_path / "wheel"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheel_dir), str(REPO)],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = wheel_dir.glob("scitex_container-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        member = f"scitex_container/host/scripts/{SCRIPT_NAME}"
        assert member in names
        assert "scitex_container/host/snapshot.schema.json" in names
        mode = zf.getinfo(member).external_attr >> 16
        assert mode & stat.S_IXUSR, oct(mode)
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "-q",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    code = (
        "import json; from scitex_container.host import install_packages; "
        "print(json.dumps(install_packages(imagemagick=True, check_only=True)))"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(target)!r}); {code}"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    import json

    result = json.loads(out.stdout)
    assert result["script"] == str(target / "scitex_container" / "host" / "scripts" / SCRIPT_NAME)
    assert result["imagemagick"]["status"] in ("installed", "missing")
