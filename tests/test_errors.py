"""Errors from public functions are the package's own types (with exit codes)."""

from __future__ import annotations

import pytest

from scitex_container import errors
from scitex_container.apptainer.deffile import parse_def_text

TWO_STAGES = "Bootstrap: scratch\nStage: build\n\n%post\n    true\n\nBootstrap: scratch\n"


def test_a_missing_stage_is_bad_input_and_still_a_lookup_error() -> None:
    recipe = parse_def_text(TWO_STAGES, "two.def")
    with pytest.raises(IndexError) as by_number:
        recipe.with_section_appended("labels", "A b", stage=5)
    with pytest.raises(KeyError) as by_name:
        recipe.with_section_appended("labels", "A b", stage="final")
    for info in (by_number, by_name):
        exc = info.value
        assert isinstance(exc, errors.NoSuchStageError)
        assert exc.exit_code == errors.EXIT_BAD_INPUT
        assert str(exc).startswith("two.def: no stage") and "\n" not in str(exc)
    assert "'final'" in str(by_name.value) and not str(by_name.value).startswith("'")


def test_a_sandbox_has_no_file_digest(tmp_path) -> None:
    from scitex_container.apptainer.store.metadata import cached_sha256

    with pytest.raises(errors.NotAFileError) as info:
        cached_sha256(tmp_path)
    assert isinstance(info.value, IsADirectoryError) and str(tmp_path) in str(info.value)
    assert info.value.exit_code == errors.EXIT_BAD_INPUT
