"""The one ``{{ NAME }}`` renderer, shared by %files checks and the inputs hash."""

from __future__ import annotations

import pytest

from scitex_container.apptainer.deffile.text import render_template
from scitex_container.errors import DefFileError


def test_values_substitute_one_level_deep_and_unknown_names_stay() -> None:
    values = {"A": "x{{ B }}", "B": "y", "C": "{{ A }}"}
    assert render_template("{{A}}/{{ B }}/{{ Z }}", values) == "xy/y/{{ Z }}"
    assert render_template("{{ C }}", values) == "x{{ B }}"  # only one level, like apptainer
    assert render_template("no templates {{ not-a-name }}", values) == (
        "no templates {{ not-a-name }}"
    )


def test_missing_callback_decides_about_names_without_a_value() -> None:
    assert render_template("{{ Z }}", {}, lambda name: name.lower()) == "z"

    def refuse(name: str) -> str:
        raise DefFileError(f"build argument `{name}` has no value", "a.def", 3)

    with pytest.raises(DefFileError, match=r"a\.def:3: build argument `Z`"):
        render_template("{{ Z }}", {}, refuse)
