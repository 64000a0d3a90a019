"""The shell-state check at a checkpoint on the real apptainer: a change that would not reach
the commands after the checkpoint is refused at its line (exit 2, nothing stored for the
stage); an early exit and state set again give the cold build's files."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from scitex_container.apptainer.cache.entries import StageCache

pytestmark = [pytest.mark.apptainer, pytest.mark.stage_cache]

RECIPE = """\
Bootstrap: localimage
From: {base}

%post{interp}
    echo one > /one
    {before}
    # scitex: checkpoint
    {after}
    echo two > /two
"""


def write(tmp_path: Path, base: Path, before: str, after: str = "", interp: str = "") -> Path:
    recipe = tmp_path / "r.def"
    recipe.write_text(RECIPE.format(base=base, before=before, after=after, interp=interp))
    return recipe


def files(image: Path, into: Path) -> dict[str, str]:
    """Every path of the image (but apptainer's own metadata) with its content or link."""
    argv = ["apptainer", "build", "--sandbox", str(into), str(image)]
    subprocess.run(argv, check=True, capture_output=True)
    seen: dict[str, str] = {}
    for top, dirs, names in os.walk(into):
        dirs[:] = [d for d in dirs if d != ".singularity.d"]
        for name in dirs + names:
            path = Path(top, name)
            rel = os.fspath(path.relative_to(into))
            if path.is_symlink():
                seen[rel] = "-> " + os.readlink(path)
            elif path.is_file():
                seen[rel] = path.read_text(errors="replace")
            else:
                seen[rel] = "dir"
    return seen


@pytest.mark.parametrize(
    ("before", "said"),
    [
        ("export V=1.2", "changes variables (V)"),
        ("cd /etc", "changes the working directory (cd /etc)"),
        # the whole fd table, as apptainer's shell holds it; a failing last status
        ("exec 3>/fd3.txt", "changes open fds (3>/fd3.txt)"),
        ("[ -e /nonexistent ] && echo y", "ends with a command whose exit status is 1"),
    ],
)
def test_state_before_a_checkpoint_is_refused_at_its_line(
    sx, tmp_path: Path, busybox_sif: Path, before: str, said: str
) -> None:
    recipe = write(tmp_path, busybox_sif, before)
    cache = StageCache(tmp_path / "stages")
    ran = sx("--json", "build", "--cache-dir", cache.root, recipe)
    assert ran.code == 2, ran.out
    error = ran.json()["error"]
    assert error.startswith(f"{recipe}:7: the %post before this checkpoint {said}")
    advice = "end the piece with a command that succeeds" if "status" in said else "undo it"
    assert advice in error
    # the bootstrap is kept (a fix reuses it); nothing of the refused stage stays
    entries = sorted(p.name for p in cache.entries_dir.iterdir())
    assert len(entries) == 1
    assert not [p for p in (cache.root / "tmp").iterdir()]
    plain = sx("build", "--cache-dir", cache.root, recipe)
    assert plain.code == 2 and f"{recipe}:7:" in plain.err


@pytest.mark.parametrize(
    ("before", "after", "present"),
    [
        ("exit 0", "", ["one"]),  # the later piece does nothing, as in a cold build
        # state undone before the checkpoint and set again after it
        (
            "export V=x; (cd /etc; echo $V > ./w); unset V",
            "cd /etc; V=x; echo $V > ./v",
            ["one", "two"],
        ),
    ],
    ids=["exit-0", "state-set-after"],
)
def test_the_cached_build_makes_the_cold_builds_files(
    sx, tmp_path: Path, busybox_sif: Path, before: str, after: str, present: list[str]
) -> None:
    recipe = write(tmp_path, busybox_sif, before, after)
    cached = sx("--json", "build", "--cache-dir", tmp_path / "stages", recipe)
    assert cached.code == 0, cached.out
    assert [s["name"] for s in cached.json()["stages"]] == [
        "bootstrap",
        "post-1",
        "post-2",
        "final",
    ]
    cold = sx("--json", "build", "--no-cache", "--force", recipe)
    assert cold.code == 0 and cold.json()["stages"] == []
    warm_files = files(Path(cached.json()["artifact"]), tmp_path / "warm")
    assert warm_files == files(Path(cold.json()["artifact"]), tmp_path / "cold")
    mine = {"one", "two", ".scitex-checkpoint"} & set(warm_files)
    assert sorted(mine) == sorted(present)
    if "two" in present:
        assert warm_files["etc/v"] == warm_files["etc/w"] == "x\n"


def test_a_bash_post_builds_through_its_checkpoint(sx, tmp_path: Path, debian_sif: Path) -> None:
    bash = "a=(x y); echo ${a[1]} > /y; unset a"
    recipe = write(tmp_path, debian_sif, bash, interp=" -c /bin/bash")
    ran = sx("--json", "build", "--cache-dir", tmp_path / "stages", recipe)
    assert ran.code == 0, ran.out
    assert [s["name"] for s in ran.json()["stages"]][1:3] == ["post-1", "post-2"]
    argv = ["apptainer", "exec", ran.json()["artifact"], "ls", "-a", "/"]
    listed = subprocess.run(argv, check=True, capture_output=True, text=True).stdout.split()
    assert {"one", "two", "y"} <= set(listed) and ".scitex-checkpoint" not in listed


def test_a_post_c_shell_is_checked_and_a_python_one_refused(
    sx, tmp_path: Path, busybox_sif: Path
) -> None:
    # apptainer runs `%post -c SHELL` without -e: a `set -e` before the checkpoint is state
    recipe = write(tmp_path, busybox_sif, "set -e", interp=" -c /bin/sh")
    refused = sx("--json", "build", "--cache-dir", tmp_path / "stages", recipe)
    assert refused.code == 2, refused.out
    assert "changes shell options (set -o errexit)" in refused.json()["error"]
    recipe.write_text(
        f"Bootstrap: localimage\nFrom: {busybox_sif}\n\n%post -c /usr/bin/python3\n"
        "    print(1)\n    # scitex: checkpoint\n    print(2)\n"
    )
    ran = sx("--json", "build", "--cache-dir", tmp_path / "stages", recipe)
    assert ran.code == 2
    assert ran.json()["error"].startswith(f"{recipe}:6: checkpoint marker in a `%post -c /usr")
