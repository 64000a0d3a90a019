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


def test_a_def_in_a_directory_whose_name_is_not_utf8_is_refused_cleanly(tmp_path):
    """Apptainer 1.4.5 cannot open such a path; repro used to die on UnicodeEncodeError."""
    import os
    import subprocess
    import sys

    home = Path(os.fsdecode(os.fsencode(tmp_path) + b"/d\xe9x"))
    home.mkdir()
    (home / "a.def").write_text("Bootstrap: scratch\n\n%post\n    true\n")
    out = tmp_path / "out"
    for cmd in ("repro", "build"):
        argv = [sys.executable, "-m", "scitex_container", cmd, home / "a.def", "-o", out]
        done = subprocess.run(argv, capture_output=True, timeout=120, check=False)
        assert done.returncode == 2, done.stderr
        assert b"not valid UTF-8" in done.stderr and b"internal error" not in done.stderr
    assert not out.exists()
