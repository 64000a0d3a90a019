"""Def files are bounded before anything reads them (issue 21, item 7)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scitex_container.apptainer.deffile.files import MAX_DEF_BYTES, MAX_DEF_LINES, parse_def
from scitex_container.errors import DefFileError


def test_too_many_lines_is_refused_at_the_first_line_past_the_limit(tmp_path: Path) -> None:
    many = tmp_path / "many.def"
    lines = ["Bootstrap: scratch", "%files"] + [f"    f{i} /f{i}" for i in range(MAX_DEF_LINES)]
    many.write_text("\n".join(lines) + "\n")
    with pytest.raises(DefFileError) as info:
        parse_def(many)
    assert str(info.value).startswith(f"{many}:{MAX_DEF_LINES + 1}: ")
    assert info.value.exit_code == 2


def test_too_large_is_refused_naming_the_line_and_never_built(tmp_path: Path) -> None:
    big = tmp_path / "big.def"
    body = "Bootstrap: scratch\n%post\n    echo " + "x" * (MAX_DEF_BYTES + 10) + "\n"
    big.write_text(body)
    with pytest.raises(DefFileError, match=r"big\.def:3: def file larger than the limit"):
        parse_def(big)
    out = subprocess.run(
        [sys.executable, "-m", "scitex_container", "build", str(big), "-o", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and f"{big}:3: def file larger" in out.stderr
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").rglob("*.sif"))


def test_a_def_at_the_limit_is_read(tmp_path: Path) -> None:
    ok = tmp_path / "ok.def"
    ok.write_text("Bootstrap: scratch\n" + "# c\n" * (MAX_DEF_LINES - 1))
    assert parse_def(ok).header


def test_a_last_line_without_newline_counts(tmp_path: Path) -> None:
    """5001 lines, the last without its newline, passed the 5000-line limit."""
    many = tmp_path / "many.def"
    many.write_text("Bootstrap: scratch\n" + "# x\n" * (MAX_DEF_LINES - 1) + "# last")
    with pytest.raises(DefFileError) as info:
        parse_def(many)
    assert str(info.value).startswith(f"{many}:{MAX_DEF_LINES + 1}: ")
    exact = tmp_path / "exact.def"  # 5000 lines, the last without its newline: read
    exact.write_text("Bootstrap: scratch\n" + "# x\n" * (MAX_DEF_LINES - 2) + "# last")
    parse_def(exact)


def test_verify_def_refuses_an_oversized_def_before_reading_it(tmp_path: Path) -> None:
    big = tmp_path / "big.def"
    big.write_text("Bootstrap: scratch\n" + ("#" + "x" * 1000 + "\n") * 1100)
    image = tmp_path / "x.sif"
    image.write_bytes(b"not read: the def is refused first")
    out = subprocess.run(
        [sys.executable, "-m", "scitex_container", "verify", str(image), "--def", str(big)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "def file larger than the limit" in out.stderr, out.stderr
    assert f"{big}:" in out.stderr
