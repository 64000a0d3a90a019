"""check_packages against the real installed programs, and against impostors on PATH."""

from __future__ import annotations

from pathlib import Path

import pytest

import scitex_container
from scitex_container import host


def _exe(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o755)
    return path


def test_reports_the_installed_groups(host_packages: dict) -> None:
    result = host.check_packages()
    assert set(result) == {"texlive", "imagemagick"}
    tex = result["texlive"]
    assert tex["installed"] is True
    assert tex["version"].startswith("pdfTeX 3.14")
    assert {"pdflatex", "pdftex", "kpsewhich"} <= set(tex["binaries"])
    im = result["imagemagick"]
    assert im["installed"] is True
    assert im["version"].startswith("Version: ImageMagick")
    assert {"convert", "identify"} <= set(im["binaries"])
    for group in result.values():
        assert set(group) == {"installed", "version", "binaries"}


def test_top_level_name_is_the_same_function() -> None:
    assert scitex_container.host_check is host.check_packages
    assert scitex_container.host_install is host.install_packages


def test_nothing_on_path_means_nothing_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    result = host.check_packages()
    assert result == {
        "texlive": {"installed": False, "version": None, "binaries": []},
        "imagemagick": {"installed": False, "version": None, "binaries": []},
    }


def test_a_program_of_the_same_name_that_is_something_else_does_not_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An impostor `convert` (like a stand-in script) and a `pdftex` that fails.
    _exe(tmp_path / "convert", "#!/bin/sh\necho 'convert: not ImageMagick'\nexit 0\n")
    _exe(tmp_path / "pdftex", "#!/bin/sh\necho 'pdfTeX 3.14 but broken' >&2\nexit 3\n")
    monkeypatch.setenv("PATH", str(tmp_path))
    result = host.check_packages()
    assert result["imagemagick"] == {"installed": False, "version": None, "binaries": ["convert"]}
    assert result["texlive"] == {"installed": False, "version": None, "binaries": ["pdftex"]}


def test_version_line_of_a_working_program_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _exe(tmp_path / "magick", "#!/bin/sh\necho 'Version: ImageMagick 7.1.1-0 Q16'\necho more\n")
    monkeypatch.setenv("PATH", str(tmp_path))
    result = host.check_packages()
    assert result["imagemagick"]["installed"] is True
    assert result["imagemagick"]["version"] == "Version: ImageMagick 7.1.1-0 Q16"
