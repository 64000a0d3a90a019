"""The generated shell-state check, run by the real shells outside apptainer: each kind of
state a piece of %post hands on is named; an unchanged state writes the marker; a piece that
ended %post early makes the later ones do nothing."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from scitex_container.apptainer.cache import shellstate

# as apptainer runs %post (`/bin/sh -e -x`; `%post -c /bin/bash`: `/bin/bash script`)
SHELLS = {
    "dash": ["dash", "-e", "-x"],
    "bash-as-sh": ["bash", "--posix", "-e", "-x"],
    "bash": ["bash"],
    "busybox": ["busybox", "sh", "-e", "-x"],
}


def run(shell: str, root: Path, script: str) -> subprocess.CompletedProcess[str]:
    argv = SHELLS[shell]
    if shutil.which(argv[0]) is None:
        pytest.skip(f"{argv[0]} is not installed")
    path = root / "piece.sh"
    # the marker (and the scratch file next to it) under root instead of /
    path.write_text(script.replace(shellstate.MARKER, f"{root}{shellstate.MARKER}"))
    return subprocess.run([*argv, str(path)], capture_output=True, text=True, cwd=root)


CHANGES = [
    ("cd /", "the working directory (cd /)"),
    ("export SCX_FRONTEND=noninteractive", "variables (SCX_FRONTEND)"),
    ("V=1.2", "variables (V)"),
    # a multi-line value: its later lines name nothing
    ("V=$(printf 'a\\nb c=d\\nbin\\nexport W')", "variables (V)"),
    ("unset HOME", "variables (HOME)"),
    ("umask 077", "the umask (umask 0077)"),
    ("set +e", "shell options (set +o errexit)"),
    ("set -u", "shell options (set -o nounset)"),
    ("trap 'echo bye' EXIT", "traps (trap -- 'echo bye' EXIT)"),
    ("exec >out.log", "open fds (1>{root}/out.log)"),
    ("exec 2>err.log", "open fds (2>{root}/err.log)"),
    ("set -- a b", "the positional parameters (set -- a b)"),
    ("ulimit -n 512", "resource limits ("),
    ("ulimit -f 1", "resource limits ("),
    ("ulimit -Hc 0", "resource limits"),  # a hard limit alone (the soft one is 0 already)
    ("exec 3>fd3.txt", "open fds (3>{root}/fd3.txt)"),
    ("exec 7<piece.sh", "open fds (7>{root}/piece.sh)"),
    ("(sleep 3; echo late > late.txt) >job.log 2>&1 &", "background jobs still running ("),
    ("[ -e /nonexistent ] && echo y", "the exit status of its last command (1)"),
    ("cd /tmp; cd {root}", "variables (OLDPWD)"),
    ("LINES=7", "variables (LINES)"),
    ("COLUMNS=9", "variables (COLUMNS)"),
    ("BASH_ENV=/x OPTIND=3", "variables (BASH_ENV OPTIND)"),
    ("export PS4", "exported variables (PS4)"),
    ("readonly HOME", "readonly variables (HOME)"),
    ("set +x", "shell options (set +o xtrace)"),
]

# under bash (as sh, or `%post -c /bin/bash`) only
BASH_CHANGES = [
    ("export -n HOME", "exported variables (HOME)"),
    ("shopt -s dotglob", "shopt options or disabled builtins (shopt -s dotglob)"),
    ("enable -n printf", "shopt options or disabled builtins (enable -n printf)"),
    ("declare -l LOW=a", "variables (LOW)"),
    ("declare -i HOME", "variables (HOME)"),
    ("f() { :; }", "functions (declare -f f"),
    ("set -o noglob", "variables (SHELLOPTS)"),
]


@pytest.mark.parametrize("shell", list(SHELLS))
@pytest.mark.parametrize(("change", "said"), CHANGES, ids=[c for c, _ in CHANGES])
def test_a_change_before_a_checkpoint_is_named_and_refused(
    shell: str, change: str, said: str, tmp_path: Path
) -> None:
    if shell == "bash" and change == "set +e":
        change = "set -e"  # `%post -c /bin/bash` runs without -e
        said = "shell options (set -o errexit)"
    if change == "set +x" and "-x" not in SHELLS[shell]:
        change, said = "set -x", "shell options (set -o xtrace)"
    change = change.format(root=tmp_path)
    refused(shell, tmp_path, change, said)


def refused(shell: str, root: Path, change: str, said: str) -> None:
    done = run(shell, root, shellstate.wrap(f"echo one\n{change}\n", 1, 2))
    assert done.returncode == shellstate.EXIT_CODE, done.stdout + done.stderr
    # stderr sent to a file: the line is on stdout too (apptainer's log merges both)
    what = shellstate.reported(done.stdout + done.stderr)
    assert what is not None and said.format(root=root) in what, what
    assert not (root / shellstate.MARKER.lstrip("/")).exists()


@pytest.mark.parametrize("shell", ["bash-as-sh", "bash"])
@pytest.mark.parametrize(("change", "said"), BASH_CHANGES, ids=[c for c, _ in BASH_CHANGES])
def test_bash_state_before_a_checkpoint_is_named_and_refused(
    shell: str, change: str, said: str, tmp_path: Path
) -> None:
    refused(shell, tmp_path, change, said)


@pytest.mark.parametrize("shell", list(SHELLS))
def test_unchanged_state_leaves_the_marker_and_the_next_piece_removes_it(
    shell: str, tmp_path: Path
) -> None:
    marker = tmp_path / shellstate.MARKER.lstrip("/")
    # state set and undone, a subshell's state, a file written: nothing crosses
    piece = "X=1\nunset X\n(cd / && umask 077)\necho one > one\n"
    first = run(shell, tmp_path, shellstate.wrap(piece, 1, 3))
    assert first.returncode == 0, first.stderr
    assert marker.exists() and (tmp_path / "one").read_text() == "one\n"
    assert shellstate.TAG not in first.stdout + first.stderr
    # xtrace is silenced for our lines: the trace shows the user's, not ours
    if "-x" in SHELLS[shell]:
        assert "__scx_" not in first.stderr and "echo one" in first.stderr
    middle = run(shell, tmp_path, shellstate.wrap("echo two > two\n", 2, 3))
    assert middle.returncode == 0 and marker.exists() and (tmp_path / "two").exists()
    last = run(shell, tmp_path, shellstate.wrap("echo three > three\n", 3, 3))
    assert last.returncode == 0 and (tmp_path / "three").exists()
    assert not marker.exists()  # the image never holds it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one", "piece.sh", "three", "two"]


@pytest.mark.parametrize("shell", list(SHELLS))
def test_an_exit_before_a_checkpoint_makes_the_later_pieces_do_nothing(
    shell: str, tmp_path: Path
) -> None:
    first = run(shell, tmp_path, shellstate.wrap("echo one > one\nexit 0\n", 1, 3))
    assert first.returncode == 0
    for index in (2, 3):
        later = run(shell, tmp_path, shellstate.wrap(f"echo {index} > {index}\n", index, 3))
        assert later.returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one", "piece.sh"]


def test_a_single_piece_is_left_as_written() -> None:
    assert shellstate.wrap("echo one\n", 1, 1) == "echo one\n"


def test_the_refusal_is_read_from_the_tagged_line_or_the_exit_status() -> None:
    log = "+ echo one\nscitex-checkpoint: the umask (umask 0077)\nFATAL: exit status 86\n"
    assert shellstate.reported(log) == "the umask (umask 0077)"
    assert shellstate.reported("FATAL: ... %post section: exit status 86") == ""
    assert "redirected stderr" in shellstate.refusal("")
    assert shellstate.reported("+ printf 'scitex-checkpoint: x'\nexit status 1") is None


def test_a_failing_last_status_and_running_jobs_get_their_own_advice() -> None:
    what = "the exit status of its last command (1), background jobs still running (12(sleep))"
    said = shellstate.refusal(what + ", the umask (umask 0077)")
    assert said.startswith("the %post before this checkpoint ends with a command whose exit ")
    assert "status is 1" in said and "`if [ -e /x ]; then echo y; fi`" in said
    assert "leaves background jobs running (12(sleep))" in said and "`wait`" in said
    assert said.endswith(
        "; and changes the umask (umask 0077), which does not reach the "
        "commands after it: undo it before the checkpoint or set it only after "
        "it, or move the checkpoint"
    )
    assert "changes" not in shellstate.refusal("the exit status of its last command (2)")


@pytest.mark.parametrize("shell", ["bash-as-sh", "bash"])
def test_a_function_redefined_before_a_checkpoint_is_refused(shell: str, tmp_path: Path) -> None:
    # there before the piece starts (as from BASH_ENV), redefined in it: same names, new body
    script = "g() { echo old; }\n" + shellstate.wrap("g() { echo new; }\n", 1, 2)
    done = run(shell, tmp_path, script)
    assert done.returncode == shellstate.EXIT_CODE, done.stdout + done.stderr
    assert "functions (declare -f g" in (shellstate.reported(done.stdout + done.stderr) or "")
