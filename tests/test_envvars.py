"""envvars: what the environment means, read in one place."""

from __future__ import annotations

import os

import pytest

from scitex_container import envvars


def test_a_relative_xdg_cache_home_is_ignored_as_the_xdg_spec_says(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    assert envvars.user_cache_dir() == os.path.join(str(tmp_path), ".cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert envvars.user_cache_dir() == str(tmp_path / "xdg")
    monkeypatch.setenv("XDG_CACHE_HOME", "")
    assert envvars.user_cache_dir() == os.path.join(str(tmp_path), ".cache")
