"""A seed capture and ours of an image with an ``rc`` package and a foreign-only one.

The seed's capture (``dpkg-query -W -f '${Package}=${Version}'``, restated
in ``seedlockgen``) lists a removed package whose config files remain and
drops the architecture of ``pkg:i386``; ours records the first as
``dpkg_config_files`` (not installed) and qualifies the second.  Neither may
read as drift, in either direction, while a real difference still does.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import seedlockgen as seed
from lockimages import DPKG_FOREIGN_ONLY, DPKG_RC, dpkg_states_sif

from scitex_container.apptainer.lock.compare import compare_locks
from scitex_container.apptainer.lock.lockfile import read_lock

RC, RC_VERSION = DPKG_RC
FOREIGN, FOREIGN_VERSION, FOREIGN_ARCH = DPKG_FOREIGN_ONLY


@pytest.fixture(scope="module")
def states_image(debian_sif: Path) -> Path:
    return dpkg_states_sif()


@pytest.mark.apptainer
def test_rc_and_foreign_only_packages_are_no_drift_against_a_seed_capture(tmp_path, states_image):
    from scitex_container.apptainer.lock.capture import capture_lock

    captured = seed.capture(states_image)
    # what the seed recorded for the two packages: the rc one, and the bare name
    assert captured.dpkg[RC] == RC_VERSION
    assert captured.dpkg[FOREIGN] == FOREIGN_VERSION
    seed_lock = read_lock(seed.write(captured, tmp_path / "seed.lock"))

    ours = capture_lock(states_image, tmp_path / "ours.lock", captured_at="")
    assert RC not in ours.dpkg and ours.dpkg_config_files == {RC: RC_VERSION}
    assert ours.dpkg.get(f"{FOREIGN}:{FOREIGN_ARCH}") == FOREIGN_VERSION
    assert FOREIGN not in ours.dpkg
    back = read_lock(tmp_path / "ours.lock")
    assert back.dpkg_config_files == {RC: RC_VERSION}
    assert f"# dpkg-config-files: {RC}={RC_VERSION}" in (tmp_path / "ours.lock").read_text()

    for a, b in ((seed_lock, ours), (ours, seed_lock), (seed_lock, back), (back, seed_lock)):
        diff = compare_locks(a, b)
        assert diff.identical, diff.detail()
        assert f"dpkg:{RC}" in diff.ignored
    assert compare_locks(ours, back).identical

    # real drift is still reported, on both packages and in both directions
    seed_lock.dpkg[RC] = "0.9-1"
    seed_lock.dpkg[FOREIGN] = "1.0-1"
    diff = compare_locks(seed_lock, ours)
    assert diff.changed == {
        f"dpkg:{RC}": ("0.9-1", RC_VERSION),
        f"dpkg:{FOREIGN}": ("1.0-1", FOREIGN_VERSION),
    }
    assert not diff.only_in_a and not diff.only_in_b
    diff = compare_locks(ours, seed_lock)
    assert set(diff.changed) == {f"dpkg:{RC}", f"dpkg:{FOREIGN}"}
    # the seed's lock without the foreign package: ours has it installed, that is drift
    del seed_lock.dpkg[FOREIGN]
    diff = compare_locks(seed_lock, ours)
    assert diff.only_in_b == {f"dpkg:{FOREIGN}:{FOREIGN_ARCH}": FOREIGN_VERSION}


@pytest.mark.apptainer
def test_verify_with_the_seeds_dpkg_file_of_the_image_passes_and_sees_real_drift(
    tmp_path, states_image
):
    from scitex_container.apptainer import verify

    captured = seed.capture(states_image)
    dpkg = "".join(f"{k}={v}\n" for k, v in captured.dpkg.items())
    pip = "".join(f"{k}=={v}\n" if v else f"{k}\n" for k, v in captured.pip.items())
    (tmp_path / "requirements-lock.txt").write_text(pip)
    (tmp_path / "dpkg-lock.txt").write_text(dpkg)
    result = verify(states_image, lock_dir=tmp_path)
    assert result["dpkg_lock"]["status"] == "pass", result["dpkg_lock"]
    assert f"{RC}={RC_VERSION}\n" in dpkg  # the seed's file lists the rc package
    (tmp_path / "dpkg-lock.txt").write_text(
        dpkg.replace(f"{RC}={RC_VERSION}", f"{RC}=0.9-1").replace(
            f"{FOREIGN}={FOREIGN_VERSION}", f"{FOREIGN}=1.0-1"
        )
    )
    result = verify(states_image, lock_dir=tmp_path)
    assert result["dpkg_lock"]["status"] == "fail"
    assert result["dpkg_lock"]["diff_count"] == 2, result["dpkg_lock"]
