"""The shell state at a checkpoint on the real apptainer: what a shell can re-create is
handed on, and the piece after the checkpoint sees what a cold build's does (also from a
reused entry); what cannot be handed on is refused at the checkpoint's line (exit 2,
nothing stored for the stage); an early exit gives the cold build's files; the image
never holds the marker or the state file."""

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
        # the whole fd table, as apptainer's shell holds it; a failing last status
        ("exec 3>/fd3.txt", "changes open fds (3>/fd3.txt)"),
        ("[ -e /nonexistent ] && echo y", "ends with a command whose exit status is 1"),
        # with state that is handed on before it: still refused
        ("export V=1.2; cd /etc; trap 'echo bye' EXIT", "changes traps (trap -- 'echo bye' EXIT)"),
        ("ulimit -n 512", "changes resource limits ("),
        ("sleep 5 &", "leaves background jobs running ("),
    ],
    ids=["fd", "status", "trap", "ulimit", "job"],
)
def test_state_that_cannot_be_handed_on_is_refused_at_its_line(
    sx, tmp_path: Path, busybox_sif: Path, before: str, said: str
) -> None:
    recipe = write(tmp_path, busybox_sif, before)
    cache = StageCache(tmp_path / "stages")
    ran = sx("--json", "build", "--cache-dir", cache.root, recipe)
    assert ran.code == 2, ran.out
    error = ran.json()["error"]
    assert error.startswith(f"{recipe}:7: the %post before this checkpoint {said}")
    advice = "undo it before the checkpoint"
    if "status" in said:
        advice = "end the piece with a command that succeeds"
    elif "jobs" in said:
        advice = "`wait` for them"
    assert advice in error
    # the bootstrap is kept (a fix reuses it); nothing of the refused stage stays
    entries = sorted(p.name for p in cache.entries_dir.iterdir())
    assert len(entries) == 1
    assert not [p for p in (cache.root / "tmp").iterdir()]
    if before == "exec 3>/fd3.txt":
        plain = sx("build", "--cache-dir", cache.root, recipe)
        assert plain.code == 2 and f"{recipe}:7:" in plain.err


def test_state_the_next_shell_does_not_take_back_is_refused_at_its_line(
    sx, tmp_path: Path, shells_sif: Path
) -> None:
    # bash's own variable: not set by the hand-over, so the comparison after it sees it
    recipe = write(tmp_path, shells_sif, "COMP_WORDBREAKS=x", interp=" -c /bin/bash")
    cache = StageCache(tmp_path / "stages")
    ran = sx("--json", "build", "--cache-dir", cache.root, recipe)
    assert ran.code == 2, ran.out
    assert ran.json()["error"] == (
        f"{recipe}:7: the %post before this checkpoint leaves shell state that the next "
        "piece's shell does not take back as it was: variables (COMP_WORDBREAKS); set it "
        "only after the checkpoint, or move the checkpoint"
    )
    # the piece before the checkpoint is stored (its state is what it left); not the next
    assert len(list(cache.entries_dir.iterdir())) == 2
    assert not [p for p in (cache.root / "tmp").iterdir()]


STATE = """\
Bootstrap: localimage
From: {base}

%post{interp}
    export SCX_FRONTEND=noninteractive
    VERSION=1.2
    W="a'b \\"q\\" \\$x \\\\ back
    c=d *? [x]"
    E=
    unset LANG
    echo 'export FROM_ENVFILE=1; umask 077; set -f' >> "$APPTAINER_ENVIRONMENT"
    mkdir -p /opt/src && cd /opt/src
    umask 027
    set -u
    set -- a 'b c'
    {bash}
    # scitex: checkpoint
    {{ pwd; umask; printf '<%s>' "$@"; echo; printf '[%s]' "$SCX_FRONTEND" "$VERSION" "$W" "$E"
      echo "${{LANG-unset}}" "${{FROM_ENVFILE-unset}}"; set +o
      export -p | grep -v _CONTAINER=; {print} }} > /state.txt
    echo {last} > /last
"""
BASH = "f() {{ echo \"f:$1\"; }}; declare -l LOW=AbC; ARR=(x 'y z'); shopt -s dotglob"
BASH_PRINT = "f 1; declare -p LOW ARR; shopt -p dotglob;"


@pytest.mark.parametrize("shell", ["dash", "bash", "busybox"])
def test_the_state_is_handed_on_as_in_a_cold_build(
    sx, tmp_path: Path, shells_sif: Path, shell: str
) -> None:
    recipe = tmp_path / "r.def"
    bash = shell == "bash"
    fields = {
        "base": shells_sif,
        "interp": "" if shell == "busybox" else f" -c /bin/{shell}",
        "bash": BASH.format() if bash else "",
        "print": BASH_PRINT if bash else "",
    }
    recipe.write_text(STATE.format(last="one", **fields))
    cache = tmp_path / "stages"
    cached = sx("--json", "build", "--cache-dir", cache, recipe)
    assert cached.code == 0, cached.out
    names = [s["name"] for s in cached.json()["stages"]]
    assert names == ["bootstrap", "post-1", "post-2", "final"]
    warm = Path(cached.json()["artifact"])
    cold = sx("--json", "build", "--no-cache", "--force", recipe)
    assert cold.code == 0 and cold.json()["stages"] == []
    said = cat(warm, "/state.txt")
    assert said == cat(Path(cold.json()["artifact"]), "/state.txt")
    assert said.startswith('/opt/src\n0027\n<a><b c>\n[noninteractive][1.2][a\'b "q" $x \\ back')
    assert "set -o nounset" in said and "unset unset\n" in said and "SCX_FRONTEND" in said
    # what the piece before wrote to $APPTAINER_ENVIRONMENT (sourced into the next stage's
    # %post from its base) does not reach the piece after, as in a cold build
    assert "set +o noglob" in said
    if bash:
        assert 'f:1\ndeclare -l LOW="abc"' in said and "shopt -s dotglob" in said
    # neither the marker nor the state file in the image
    listed = cat(warm, "-a", "/", "/.singularity.d", ls=True)
    assert ".scitex-checkpoint" not in listed and "state.txt" in listed
    if shell != "busybox":
        return
    # the last piece edited: the first one is reused, its entry hands the state on
    recipe.write_text(STATE.format(last="two", **fields))
    again = sx("--json", "build", "--cache-dir", cache, "--force", recipe)
    assert again.code == 0, again.out
    stages = {s["name"]: s for s in again.json()["stages"]}
    assert stages["post-1"]["reused"] and not stages["post-2"]["reused"]
    entry = StageCache(cache).entries_dir / stages["post-1"]["key"] / "rootfs"
    assert (entry / ".scitex-checkpoint.state").is_file()  # what the reused entry hands on
    image = Path(again.json()["artifact"])
    assert cat(image, "/state.txt") == said and cat(image, "/last") == "two\n"


def cat(image: Path, *args: str, ls: bool = False) -> str:
    argv = ["apptainer", "exec", str(image), "ls" if ls else "cat", *args]
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def test_an_exit_before_a_checkpoint_makes_the_cold_builds_files(
    sx, tmp_path: Path, busybox_sif: Path
) -> None:
    recipe = write(tmp_path, busybox_sif, "exit 0")  # the later piece does nothing
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
    assert "one" in warm_files and "two" not in warm_files
    assert not [name for name in warm_files if name.startswith(".scitex-checkpoint")]


def test_a_post_c_shell_is_checked_and_a_python_one_refused(
    sx, tmp_path: Path, busybox_sif: Path
) -> None:
    recipe = write(tmp_path, busybox_sif, "trap : HUP", interp=" -c /bin/sh")
    refused = sx("--json", "build", "--cache-dir", tmp_path / "stages", recipe)
    assert refused.code == 2, refused.out
    assert "changes traps (trap -- " in refused.json()["error"]
    recipe.write_text(
        f"Bootstrap: localimage\nFrom: {busybox_sif}\n\n%post -c /usr/bin/python3\n"
        "    print(1)\n    # scitex: checkpoint\n    print(2)\n"
    )
    ran = sx("--json", "build", "--cache-dir", tmp_path / "stages", recipe)
    assert ran.code == 2
    assert ran.json()["error"].startswith(f"{recipe}:6: checkpoint marker in a `%post -c /usr")


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("sh -c 'exit 86'", ""),  # the recipe's own failure, with our refusal's status
        ("", "echo 'scitex-checkpoint: not handed on: variables (X)'; false"),  # our words
    ],
    ids=["exit-86", "forged-line"],
)
def test_a_recipes_own_failure_never_passes_for_a_refusal(
    sx, tmp_path: Path, busybox_sif: Path, before: str, after: str
) -> None:
    """Only a line carrying the build's own token (given to %post by the build, taken out
    of the environment by the prologue) is a refusal: the build fails as a cold one does."""
    recipe = write(tmp_path, busybox_sif, before or "true", after)
    ran = sx("--json", "build", "--cache-dir", tmp_path / "stages", recipe)
    assert ran.code == 1, ran.out
    assert "checkpoint" not in ran.json()["error"], ran.json()["error"]


def test_an_rm_that_does_not_remove_is_refused_not_shipped(
    sx, tmp_path: Path, busybox_sif: Path
) -> None:
    """The image's own rm, replaced by one that removes nothing: our files (the saved state
    among them) would stay in the image; the piece after the checkpoint refuses instead."""
    stand_in = "printf '#!/bin/sh\\nexit 0\\n' > /bin/rm; busybox chmod 755 /bin/rm"
    recipe = write(tmp_path, busybox_sif, stand_in)
    ran = sx("--json", "build", "--cache-dir", tmp_path / "stages", recipe)
    assert ran.code == 2, ran.out
    assert f"{recipe}:7:" in ran.json()["error"] and "left /.scitex-checkpoint*" in ran.out


def test_the_token_reaches_no_recipe_command(sx, tmp_path: Path, busybox_sif: Path) -> None:
    """A %post without checkpoints, %test, and the pieces after a checkpoint never see the
    build's token in their environment (a cold build's `env` would differ)."""
    recipe = tmp_path / "r.def"
    recipe.write_text(
        f"Bootstrap: localimage\nFrom: {busybox_sif}\n\n%post\n"
        "    { env | grep -c scx || :; } > /seen\n\n%test\n    env | grep scx && exit 1 || :\n"
    )
    ran = sx("--json", "build", "--cache-dir", tmp_path / "stages", recipe)
    assert ran.code == 0, ran.out
    assert cat(Path(ran.json()["artifact"]), "/seen") == "0\n"
    cut = write(tmp_path, busybox_sif, "true", "{ env | grep -c scx || :; } > /seen")
    ran = sx("--json", "build", "--cache-dir", tmp_path / "stages", "--force", cut)
    assert ran.code == 0, ran.out
    assert cat(Path(ran.json()["artifact"]), "/seen") == "0\n"
