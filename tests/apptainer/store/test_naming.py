"""Version naming and ordering: versions as versions, timestamps as time."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scitex_container.apptainer.store.naming import (
    FLAT_SANDBOX,
    FLAT_SIF,
    check_version,
    image_scheme,
    sort_versions,
    version_key,
)
from scitex_container.errors import BadInputError


def test_pep440_versions_sort_numerically() -> None:
    assert sort_versions(["2.10", "2.9", "2.19.5", "2.2", "10.0", "2.10.1rc1"]) == [
        "2.2",
        "2.9",
        "2.10",
        "2.10.1rc1",
        "2.19.5",
        "10.0",
    ]


def test_timestamps_sort_as_time_with_same_second_suffix() -> None:
    got = sort_versions(
        ["20260225_173700-2", "20251231_235959", "20260225_173700", "20260225_173700-10"]
    )
    assert got == ["20251231_235959", "20260225_173700", "20260225_173700-2", "20260225_173700-10"]


def test_unparseable_versions_sort_naturally() -> None:
    assert sort_versions(["beta-10", "beta-9", "alpha"]) == ["alpha", "beta-9", "beta-10"]


@given(st.lists(st.text(alphabet="0123456789.abrc_-", min_size=1, max_size=12), max_size=8))
def test_version_key_is_a_total_order(versions: list[str]) -> None:
    keys = sorted(version_key(v) for v in versions)  # must not raise on mixed kinds
    assert len(keys) == len(versions)


def test_flat_scheme_ignores_sidecars_hidden_files_bases_and_the_link() -> None:
    assert FLAT_SIF.version_of("scitex-v2.19.5.sif") == "2.19.5"
    for name in (
        "scitex-v2.19.5.sif.meta.json",
        ".scitex-v2.sif.123.456.building",
        "current.sif",
        "scitex-base-v1.sif",
        "other.sif",
        "scitex-v.sif",
    ):
        assert FLAT_SIF.version_of(name) is None, name
    assert FLAT_SANDBOX.version_of("sandbox-20260225_173700") == "20260225_173700"
    assert FLAT_SANDBOX.version_of("sandbox-20260225_173700.meta.json") is None


def test_image_scheme_names() -> None:
    sif = image_scheme("demo")
    assert (
        sif.name_of("20260101_000000") == "demo-v20260101_000000.sif" and sif.active == "demo.sif"
    )
    box = image_scheme("demo", sandbox=True)
    assert box.version_of("demo-v20260101_000000-sandbox") == "20260101_000000"
    assert box.version_of("demo-v20260101_000000.sif") is None


@pytest.mark.parametrize("bad", ["", "../x", "a/b", ".hidden", "a b"])
def test_bad_version_strings_are_refused(bad: str) -> None:
    with pytest.raises(BadInputError):
        check_version(bad)


def test_new_names_are_utc_with_a_marker_and_old_names_still_sort() -> None:
    from datetime import datetime, timedelta, timezone

    from scitex_container.apptainer.store.naming import stamp_time, timestamp

    plus5 = timezone(timedelta(hours=5))
    assert timestamp(datetime(2026, 12, 2, 15, 15, tzinfo=plus5)) == "20261202T101500Z"
    assert (
        stamp_time("20261202T101500Z")
        == datetime(2026, 12, 2, 10, 15, tzinfo=timezone.utc).timestamp()
    )
    got = sort_versions(["20261202T101500Z-2", "20261202T101500Z", "20261201T235959Z"])
    assert got == ["20261201T235959Z", "20261202T101500Z", "20261202T101500Z-2"]
    assert version_key("20200101_000000")[0] == version_key("20261202T101500Z")[0] == 2
