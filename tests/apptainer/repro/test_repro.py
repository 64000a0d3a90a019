"""The round trip on real Apptainer builds, and the use-time verification gate.

The pip-only round trip (four localimage builds from the Debian base) shows
the value: after a newer wheel appears, a rebuild from the rough def drifts
and names the package, while a rebuild from the locked def reproduces.
The CLI is driven on tiny scratch images whose dpkg database the test
controls (builds well under a second).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest
from wheels import make_wheel

from scitex_container.apptainer.building.versioned import build
from scitex_container.apptainer.lock.capture import capture_lock
from scitex_container.apptainer.lock.compare import compare_locks
from scitex_container.apptainer.lock.lockfile import read_lock
from scitex_container.apptainer.repro.roundtrip import (
    UnverifiedImageWarning,
    build_reproducible,
    check_verified,
    verify_roundtrip,
)
from scitex_container.apptainer.store.sidecars import (
    LOCK_SUFFIX,
    LOCKED_DEF_SUFFIX,
    ROUGH_DEF_SUFFIX,
    VERIFIED_SUFFIX,
    sidecar,
)
from scitex_container.errors import CheckFailedError, NotFoundError
from scitex_container.process import runner

CLI = [sys.executable, "-m", "scitex_container"]
pytestmark = pytest.mark.apptainer


def rough_pip_def(base: Path) -> str:
    return textwrap.dedent(
        f"""\
        Bootstrap: localimage
        From: {base}

        %files
            wheels /opt/wheels

        %post
            pip3 install --break-system-packages --no-index --find-links /opt/wheels \\
                scitex-repro-alpha scitex-repro-beta
        """
    )


@pytest.fixture(scope="module")
def pip_project(tmp_path_factory, debian_sif) -> Path:
    root = tmp_path_factory.mktemp("repro-pip")
    make_wheel(root / "wheels", "scitex-repro-alpha", "1.0.0")
    make_wheel(root / "wheels", "scitex-repro-beta", "2.0.0")
    (root / "rough.def").write_text(rough_pip_def(debian_sif))
    return root


@pytest.fixture(scope="module")
def roundtrip(pip_project):
    return build_reproducible(pip_project / "rough.def", pip_project / "images", "demo")


def test_pip_roundtrip_is_identical(roundtrip, pip_project):
    r = roundtrip
    assert r.identical, r.summary
    assert r.status == "verified"
    assert r.image == Path(os.path.realpath(pip_project / "images" / "demo" / "demo.sif"))
    assert r.rough_image.parent.name == "demo-rough" and r.rough_image != r.image
    for path, suffix in (
        (r.lock, LOCK_SUFFIX),
        (r.locked_def, LOCKED_DEF_SUFFIX),
        (r.rough_def, ROUGH_DEF_SUFFIX),
        (r.verified, VERIFIED_SUFFIX),
    ):
        assert path == sidecar(r.image, suffix) and path.is_file()
        assert sidecar(r.rough_image, suffix).is_file()
    assert r.rough_def.read_text() == (pip_project / "rough.def").read_text()
    lock = read_lock(r.lock)
    assert lock.pip["scitex-repro-alpha"] == "1.0.0"
    assert "scitex-repro-alpha==1.0.0" in r.locked_def.read_text()
    marker = json.loads(r.verified.read_text())
    assert marker["status"] == "verified" and marker["identical"] is True
    assert marker["image"] == r.image.name and len(marker["image_sha256"]) == 64
    assert set(r.durations) >= {
        "rough_build",
        "rough_capture",
        "pin",
        "locked_build",
        "locked_capture",
        "total",
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a verified image warns about nothing
        assert check_verified(r.image).state == "verified"
        assert check_verified(r.rough_image).state == "verified"
        assert check_verified(pip_project / "images" / "demo" / "demo.sif", require_verified=True)


@pytest.fixture(scope="module")
def newer_wheel(roundtrip, pip_project):
    """A newer alpha appears in the wheel directory after the round trip."""
    make_wheel(pip_project / "wheels", "scitex-repro-alpha", "1.1.0")
    rough_again = Path(
        os.path.realpath(
            build(
                def_path=pip_project / "rough.def",
                output_dir=pip_project / "later",
                image_name="rough-again",
                force=True,
            )
        )
    )
    drift = compare_locks(
        roundtrip.lock, capture_lock(rough_again), a_label="lock", b_label="rebuild"
    )
    reverified = verify_roundtrip(roundtrip.image)
    return drift, reverified


def test_rough_rebuild_drifts_and_names_the_package(newer_wheel):
    drift, _ = newer_wheel
    assert not drift.identical
    assert drift.changed == {"pip:scitex-repro-alpha": ("1.0.0", "1.1.0")}
    assert "pip:scitex-repro-alpha: 1.0.0 -> 1.1.0" in drift.summary()


def test_locked_rebuild_reproduces_despite_the_newer_wheel(newer_wheel, roundtrip):
    _, again = newer_wheel
    assert again.identical, again.summary
    assert read_lock(again.lock).pip["scitex-repro-alpha"] == "1.0.0"
    assert again.rough_image == roundtrip.image
    assert json.loads(again.verified.read_text())["status"] == "verified"


# -- the CLI on scratch images whose dpkg database the test writes -------------

SCRATCH_DEF = textwrap.dedent(
    """\
    Bootstrap: scratch

    %setup
        mkdir -p "{root}/bin" "{root}/tmp" "{root}/var/lib/dpkg"
        cp /bin/busybox "{root}/bin/busybox"
        for a in sh true echo cat ls mktemp rm grep wc sed awk mkdir; do
            ln -s busybox "{root}/bin/$a"
        done
        {version_cmd}
        printf '{dpkg_status}' "$v" \\
            > "{root}/var/lib/dpkg/status"

    %environment
        export PATH=/bin
    """
)
# filled in with version_cmd by scratch_def (kept out of the template to keep its lines short)
SCRATCH_FIELDS = {
    "root": "${APPTAINER_ROOTFS}",
    "dpkg_status": (
        r"Package: fake\nStatus: install ok installed\nVersion: %s\nArchitecture: all\n\n"
    ),
}


def scratch_def(tmp_path: Path, *, drifting: bool) -> Path:
    if drifting:  # every build records a new version: the rebuild cannot match
        counter = tmp_path / "counter"
        counter.write_text("0\n")
        version_cmd = f'n=$(cat {counter}); echo $((n + 1)) > {counter}; v="1.$n"'
    else:
        version_cmd = 'v="1.0"'
    path = tmp_path / "tiny.def"
    path.write_text(SCRATCH_DEF.format(version_cmd=version_cmd, **SCRATCH_FIELDS))
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=300, check=False)


def test_cli_repro_exit_0_when_reproduced(tmp_path):
    definition = scratch_def(tmp_path, drifting=False)
    proc = run_cli("repro", str(definition), "--output-dir", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("reproduced: the rebuild from the locked def matches the lock")
    assert "(verified)" in proc.stdout
    image = Path(os.path.realpath(tmp_path / "out" / "tiny" / "tiny.sif"))
    locked = sidecar(image, LOCKED_DEF_SUFFIX).read_text()
    assert "fake=1.0" in locked  # the stanza ran and skipped: busybox has no apt-get
    # given the image instead of the def: rebuild from its locked def, compare with its lock
    again = run_cli("--json", "repro", str(tmp_path / "out" / "tiny" / "tiny.sif"))
    assert again.returncode == 0, again.stderr
    data = json.loads(again.stdout)
    assert data["status"] == "verified" and data["rough_image"] == str(image)


def test_cli_repro_exit_1_and_names_the_drift(tmp_path):
    definition = scratch_def(tmp_path, drifting=True)
    proc = run_cli("--json", "repro", str(definition), "-o", str(tmp_path / "out"))
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert data["status"] == "unverified" and data["identical"] is False
    assert data["diff"]["changed"] == {"dpkg:fake": {"lock": "1.0", "rebuild": "1.1"}}
    marker = json.loads(Path(data["verified"]).read_text())
    assert marker["status"] == "unverified" and "dpkg:fake" in marker["summary"]
    human = run_cli("repro", str(definition), "-o", str(tmp_path / "out2"))
    assert human.returncode == 1
    assert human.stdout.startswith("DRIFT:")
    assert "changed     dpkg:fake: 1.2 -> 1.3" in human.stdout


def test_cli_lock_pin_writes_the_locked_def(tmp_path):
    from click.testing import CliRunner

    from scitex_container.cli.lock.pin import pin

    definition = scratch_def(tmp_path, drifting=False)
    lock = tmp_path / "x.lock"
    lock.write_text("# scitex-container lock\n[pip]\nalpha==1.0\n[dpkg]\nfake=1.0\n[node]\n")
    out = tmp_path / "p.def"
    args = [str(definition), str(lock), "-o", str(out), "--snapshot", "2024-01-15"]
    res = CliRunner().invoke(pin, args)
    assert res.exit_code == 0, res.output
    assert res.output == f"wrote {out}\n"
    text = out.read_text()
    assert "alpha==1.0" in text and "snapshot.debian.org/archive/debian/20240115T000000Z" in text
    assert (
        f"Regenerate: scitex-container lock pin {definition} {lock} -o {out} --snapshot 2024-01-15"
        in text
    )
    # default output: beside DEF as <stem>.locked.def; a bad lock is exit 2 naming file:line
    assert CliRunner().invoke(pin, [str(definition), str(lock)]).exit_code == 0
    assert (tmp_path / "tiny.locked.def").is_file()
    lock.write_text("# scitex-container lock\n[dpkg]\nnot-a-pin\n")
    if (Path(__file__).parents[3] / "src/scitex_container/cli/lock.py").exists():
        proc = run_cli("lock", "pin", str(definition), str(lock))
        assert proc.returncode == 2 and "x.lock:3" in proc.stderr


# -- check_verified: markers written by hand beside a real image ---------------


@pytest.fixture()
def image(tmp_path, busybox_sif) -> Path:
    path = tmp_path / "img" / "img.sif"
    path.parent.mkdir()
    path.write_bytes(busybox_sif.read_bytes())
    return path


def write_marker(target: Path, **fields) -> None:
    sidecar(target, VERIFIED_SUFFIX).write_text(json.dumps(fields))


def test_check_verified_without_marker_warns_or_raises(image):
    with pytest.warns(UnverifiedImageWarning, match="no round-trip marker"):
        status = check_verified(image)
    assert status.state == "unknown" and not status
    with pytest.raises(CheckFailedError, match=r"img.sif: reproducibility unverified"):
        check_verified(image, require_verified=True)


def test_check_verified_reports_the_drift(image):
    write_marker(image, status="unverified", identical=False, summary="1 changed (pip:a: 1 -> 2)")
    with pytest.warns(UnverifiedImageWarning, match=r"pip:a: 1 -> 2"):
        assert check_verified(image).state == "unverified"
    with pytest.raises(CheckFailedError, match=r"pip:a"):
        check_verified(image, require_verified=True)


def test_check_verified_follows_links_and_checks_the_digest(image):
    from scitex_container.files.fsutil import sha256_file

    write_marker(
        image, status="verified", identical=True, image=image.name, image_sha256=sha256_file(image)
    )
    link = image.parent / "current.sif"
    link.symlink_to(image.name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        status = check_verified(link, require_verified=True)
    assert status.state == "verified" and status.image == image
    # the image changed after its round trip: the marker no longer vouches for it
    with open(image, "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(CheckFailedError, match="changed since its round trip"):
        check_verified(link, require_verified=True)


def test_check_verified_missing_image(tmp_path):
    with pytest.raises(NotFoundError):
        check_verified(tmp_path / "nope.sif")


def test_verify_roundtrip_needs_the_sidecars(image):
    with pytest.raises(NotFoundError, match=r"img.sif.lock"):
        verify_roundtrip(image)


def test_dry_run_stops_after_the_rough_build(tmp_path):
    definition = scratch_def(tmp_path, drifting=False)
    with runner.dry_run() as rec:
        result = build_reproducible(definition, tmp_path / "out")
    assert not result.identical and "dry run" in result.summary
    assert any("build" in c for c in rec.as_shell())
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.sif"))
