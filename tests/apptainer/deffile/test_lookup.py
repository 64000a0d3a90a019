"""Where .def files are found: the seed's search, which skips a containers/ without defs."""

from __future__ import annotations

from pathlib import Path

import pytest

from scitex_container import envvars
from scitex_container.apptainer.deffile.lookup import find_containers_dir
from scitex_container.errors import NotFoundError


def test_a_containers_dir_without_defs_is_skipped_as_in_the_seed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "containers").mkdir()  # unrelated: no .def
    user = tmp_path / "home" / ".scitex" / "containers"
    user.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(NotFoundError, match=r"with a \.def"):
        find_containers_dir()
    (user / "a.def").write_text("Bootstrap: scratch\n")
    assert find_containers_dir() == user  # the next candidate that has one
    (tmp_path / "containers" / "b.def").write_text("Bootstrap: scratch\n")
    assert find_containers_dir() == tmp_path / "containers"


def test_the_environment_override_is_taken_as_given(tmp_path, monkeypatch):
    monkeypatch.setenv(envvars.CONTAINERS_DIR, str(tmp_path))
    assert find_containers_dir() == tmp_path


def test_the_package_relative_containers_dir_is_only_a_source_checkouts(tmp_path: Path) -> None:
    """A site install tried `.../site-packages/containers`, which the README never names."""
    from scitex_container.apptainer.deffile.lookup import source_tree

    site = tmp_path / "lib" / "python3.11" / "site-packages" / "scitex_container"
    site.mkdir(parents=True)
    assert source_tree(site) is None
    checkout = tmp_path / "repo" / "src" / "scitex_container"
    checkout.mkdir(parents=True)
    assert source_tree(checkout) is None  # a src/ without its project file: not a checkout
    (tmp_path / "repo" / "pyproject.toml").write_text("[project]\n")
    assert source_tree(checkout) == tmp_path / "repo" / "src"
