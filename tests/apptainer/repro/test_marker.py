"""The round-trip marker record: a lossless round trip through JSON, checked on load."""

from __future__ import annotations

import json

import pytest

from scitex_container.apptainer.repro.marker import VerifiedMarker, read_marker_file
from scitex_container.errors import BadInputError


def test_marker_round_trips_through_its_file(tmp_path) -> None:
    marker = VerifiedMarker(
        status="verified",
        identical=True,
        summary="identical",
        diff={"added": []},
        image="img-v1.sif",
        image_sha256="a" * 64,
        command="scitex-container repro img.def",
    )
    path = tmp_path / "img-v1.sif.verified.json"
    marker.write(path)
    assert read_marker_file(path) == marker
    data = json.loads(path.read_text())
    assert "rebuild" not in data and data["schema"] == 1 and data["status"] == "verified"
    assert path.read_text() == json.dumps(data, indent=2, sort_keys=True) + "\n"


def test_partial_markers_load_and_bad_fields_are_named() -> None:
    old = VerifiedMarker.from_dict({"status": "unverified", "summary": "drift", "extra": 1})
    assert not old.is_verified and old.summary == "drift" and old.image_sha256 == ""
    assert not VerifiedMarker.from_dict({"status": "verified"}).is_verified  # identical missing
    with pytest.raises(BadInputError, match=r"m\.json: field `identical`"):
        VerifiedMarker.from_dict({"status": "verified", "identical": "yes"}, "m.json")
    with pytest.raises(BadInputError, match="`status` is missing"):
        VerifiedMarker.from_dict({"identical": True})
    with pytest.raises(BadInputError, match="JSON object"):
        VerifiedMarker.from_dict([1])


def test_unreadable_marker_files_read_as_absent(tmp_path) -> None:
    assert read_marker_file(tmp_path / "none.json") is None
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert read_marker_file(bad) is None
    bad.write_text('{"status": 3}')
    assert read_marker_file(bad) is None


def test_the_seeds_plain_markers_are_read(tmp_path) -> None:
    import warnings

    import pytest

    from scitex_container.apptainer.repro.marker import UnverifiedImageWarning, check_verified
    from scitex_container.errors import CheckFailedError

    image = tmp_path / "base-20260101T000000.sif"
    image.write_bytes(b"sif")
    with pytest.warns(UnverifiedImageWarning):
        assert check_verified(image).state == "unknown"
    (tmp_path / "base-20260101T000000.unverified").write_text(
        "reproducibility unverified at 2026-01-01\npip: numpy 1.26.0 -> 2.0.0\n"
    )
    with pytest.warns(UnverifiedImageWarning):
        drifted = check_verified(image)
    assert drifted.state == "unverified" and "numpy 1.26.0 -> 2.0.0" in drifted.detail
    with pytest.raises(CheckFailedError, match="numpy"):
        check_verified(image, require_verified=True)
    link = tmp_path / "latest.sif"
    link.symlink_to(image.name)
    (tmp_path / "base-20260101T000000.verified").write_text("round-trip verified at 2026\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # verified: silent, through the link too
        status = check_verified(link, require_verified=True)
    assert status.state == "verified" and status.marker.name.endswith(".verified")
    assert status.sif == status.image == image.resolve()  # the seed's attribute name too
