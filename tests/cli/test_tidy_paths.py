"""Paths are printed tidy: `defs/../images/x.sif` is said as `images/x.sif` (issue 21, item 1).

A real busybox build and the commands that print what they were given;
a ``..`` after a symbolic link is kept (dropping it would name another place).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from clirun import cli
from clitree import every_command, params
from images import BUSYBOX_DEF

pytestmark = pytest.mark.apptainer


def test_no_command_prints_a_dot_dot_the_user_did_not_need(tmp_path: Path) -> None:
    (tmp_path / "defs").mkdir()
    (tmp_path / "defs" / "tool.def").write_text(BUSYBOX_DEF)
    image = "defs/../images/tool/tool.sif"
    runs = [
        ("build", "defs/../defs/tool.def", "-o", "defs/../images"),
        ("--dry-run", "build", "defs/../defs/tool.def", "-o", "defs/../images", "--force"),
        ("verify", image, "--def", "./defs/../defs/tool.def"),
        ("versions", "defs/../images/tool"),
        ("status", "defs/../defs", "-o", "defs/../images"),
        ("lock", "capture", image, "-o", "defs/../tool.lock"),
        ("--dry-run", "deploy", "defs/../images/tool", "defs/../target"),
    ]
    for args in runs:
        done = cli(*args, cwd=tmp_path)
        assert done.returncode in (0, 1), (args, done.stderr)
        said = done.stdout + done.stderr
        assert "/../" not in said and "/./" not in said, (args, said)
        assert "tool" in said, (args, said)
    built = cli("verify", image, cwd=tmp_path).stdout.splitlines()[0]
    assert built.split()[1] == "images/tool/tool.sif", built


def test_a_dot_dot_after_a_link_is_kept_as_given(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere" / "deep"
    elsewhere.mkdir(parents=True)
    (tmp_path / "here").mkdir()
    os.symlink(elsewhere, tmp_path / "here" / "link")
    given = "here/link/../store"  # through the link: elsewhere/store, not here/store
    (tmp_path / "here" / "store").mkdir()
    done = cli("versions", given, cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.startswith(f"error: {given}: does not exist")


def test_every_path_parameter_of_every_command_is_tidied() -> None:
    """Walks click's command tree: a plain click.Path would print `a/../b` back as given."""
    import click

    from scitex_container.cli.main import cli as root
    from scitex_container.cli.options import TidyPath

    plain = [
        f"{' '.join(path)} {param.name}"
        for path, cmd in every_command(root)
        for param in params(cmd)
        if isinstance(param.type, click.Path) and not isinstance(param.type, TidyPath)
    ]
    assert plain == []
