"""cli/main.py: with --json every failure is JSON on stdout, with the same exit code."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from storekit import make_sif


@pytest.fixture()
def store(tmp_path: Path) -> Path:
    make_sif(tmp_path / "scitex-v1.0.sif")
    os.symlink("scitex-v1.0.sif", tmp_path / "current.sif")
    return tmp_path


@pytest.mark.parametrize(
    "args",
    [
        ("no-such-command",),
        ("versions", "--no-such-option"),
        ("switch",),  # missing argument
        ("cleanup", "-k", "-1", "."),  # bad value
    ],
    ids=["command", "option", "argument", "value"],
)
def test_usage_errors_are_json_with_exit_2(sx, args) -> None:
    text = sx(*args)
    ran = sx("--json", *args)
    assert text.code == ran.code == 2
    data = ran.json()
    assert data["exit_code"] == 2 and data["error"] and "\n" not in data["error"]


def test_library_error_same_exit_code_with_and_without_json(sx, store: Path) -> None:
    text = sx("switch", "9.9", store)
    ran = sx("switch", "9.9", store, "--json")  # --json after the command works too
    assert text.code == ran.code != 0
    assert text.out == "" and text.err.startswith("error: ")
    data = ran.json()
    assert data["exit_code"] == ran.code and "9.9" in data["error"]


def test_success_is_json_too(sx, store: Path) -> None:
    ran = sx("--json", "versions", store)
    assert ran.code == 0 and ran.json()[0]["version"] == "1.0"


def test_json_after_double_dash_is_not_the_option(sx, store: Path) -> None:
    ran = sx("switch", "9.9", store, "--", "--json")
    assert ran.code == 2 and ran.out == ""
