"""The generated shell-state check, run by the real shells outside apptainer: each kind of
state a piece of %post hands on is named; an unchanged state writes the marker; a piece that
ended %post early makes the later ones do nothing."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from signals import default_signals

from scitex_container.apptainer.cache import shellsnap, shellstate

# as apptainer runs %post (`/bin/sh -e -x`; `%post -c /bin/bash`: `/bin/bash script`)
SHELLS = {
    "dash": ["dash", "-e", "-x"],
    "bash-as-sh": ["bash", "--posix", "-e", "-x"],
    "bash": ["bash"],
    "busybox": ["busybox", "sh", "-e", "-x"],
}


def run(
    shell: str, root: Path, script: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    argv = SHELLS[shell]
    if shutil.which(argv[0]) is None:
        pytest.skip(f"{argv[0]} is not installed")
    path = root / "piece.sh"
    # the marker (and the state and scratch files next to it) under root instead of /
    path.write_text(script.replace(shellstate.MARKER, f"{root}{shellstate.MARKER}"))
    argv = [*argv, str(path)]
    # default dispositions: under nohup SIGHUP is ignored, and a shell cannot trap a signal
    # ignored on entry (`trap : HUP` would change nothing)
    return subprocess.run(
        argv, capture_output=True, text=True, cwd=root, env=env, preexec_fn=default_signals
    )


# what cannot be handed on: refused at the checkpoint, named
CHANGES = [
    ("trap 'echo bye' EXIT", "traps (trap -- 'echo bye' EXIT)"),
    ("exec >out.log", "open fds (1>{root}/out.log)"),
    ("exec 2>err.log", "open fds (2>{root}/err.log)"),
    ("ulimit -n 512", "resource limits ("),
    ("ulimit -f 1", "resource limits ("),
    ("ulimit -Hc 0", "resource limits"),  # a hard limit alone (the soft one is 0 already)
    ("exec 3>fd3.txt", "open fds (3>{root}/fd3.txt)"),
    ("exec 7<piece.sh", "open fds (7>{root}/piece.sh)"),
    ("(sleep 3; echo late > late.txt) >job.log 2>&1 &", "background jobs still running ("),
    ("[ -e /nonexistent ] && echo y", "the exit status of its last command (1)"),
    ("APPTAINER_CONTAINER=/x", "apptainer's per-build variables (APPTAINER_CONTAINER=/x:"),
    # state handed on, with what cannot be alongside: still refused
    ("export V=1; cd /; trap : HUP", "traps (trap -- "),
    # what would blind the check or cannot be re-created
    ("alias note='echo aliased'", "aliases ("),
    ("umask 077; umask() {{ echo 0022; }}", "builtins the check runs (a function, alias or"),
    ("readonly IFS", "IFS (made readonly)"),
]


@pytest.mark.parametrize("shell", list(SHELLS))
@pytest.mark.parametrize(("change", "said"), CHANGES, ids=[c for c, _ in CHANGES])
def test_state_that_cannot_be_handed_on_is_named_and_refused(
    shell: str, change: str, said: str, tmp_path: Path
) -> None:
    change = change.format(root=tmp_path)
    done = run(shell, tmp_path, shellstate.wrap(f"echo one\n{change}\n", 1, 2))
    assert done.returncode == shellstate.EXIT_CODE, done.stdout + done.stderr
    # stderr sent to a file: the line is on stdout too (apptainer's log merges both)
    what = shellstate.reported(done.stdout + done.stderr)
    assert what is not None and said.format(root=tmp_path) in what, what
    assert not shellstate.refusal(what).count("not take back")
    left = {p.name for p in tmp_path.iterdir()}
    assert not {".scitex-checkpoint", ".scitex-checkpoint.state"} & left


# the state a piece leaves, as the next one sees it (PRINT is the same in a cold build)
_OWN = "|".join(["__scx_[a-z_]*", *shellstate.SELF_CHANGING, "APPTAINER_CONTAINER"])
PRINT = (
    '{{ pwd; umask; echo "$#"; printf \'<%s>\' "$@"; echo; set +o; export -p; readonly -p\n'
    '  if [ -n "${{BASH_VERSION-}}" ]; then declare -p; declare -f; shopt -p; enable -n\n'
    "  else set; fi | grep -Ev '^(declare -[^ ]* )?(" + _OWN + ")(=|$)'\n"
    "}} >|{root}/out.txt\n"
)
HANDED = [
    # the common recipe: an exported variable, a plain one, cd, umask, set -u, arguments
    "export SCX_FRONTEND=noninteractive\nVERSION=1.2\nmkdir -p src; cd src\numask 027\n"
    "set -u\nset -- a 'b c'",
    # values with newlines, quotes, $, backslashes, spaces, glob characters; empty ones
    'W="a\'b \\"q\\" \\$x \\\\ back\nc=d *? [x]\nexport Z"; E=; export W E; readonly R=\'x\ny\'',
    # unset what the environment sets (it stays unset); OLDPWD; names the shell reads
    "unset HOME MAIL; cd /tmp; cd {root}; LINES=7 COLUMNS=9 BASH_ENV=/x OPTIND=3; export PS4",
    # options: errexit off, xtrace as the piece left it, noglob, allexport
    "set +e +x -f -a; A=1",
    # what our own lines must not trip on: a split on `:`, noclobber, nounset, no IFS
    "IFS=:; set -C -u; V='x:y z'; cd /tmp",
    "unset IFS; set -o nounset; export PS4='++ '",
]
BASH_HANDED = [
    # our own splits of `declare -F` and `enable -n` must not follow the recipe's IFS
    "SECRET=hunter2; f() { echo f; }; IFS=:",
    "f() { echo \"f:$1\"; }; export -f f; declare -l LOW=AbC; ARR=(x 'y z'); declare -i N=3\n"
    "shopt -s dotglob; enable -n printf; export -n HOME; declare -A M=([k]=v)",
]


def handed_on(shell: str, root: Path, *pieces: str) -> None:
    """Each piece run by its own shell through the checkpoints, then PRINT: what it
    writes equals what one shell running them all writes (a cold build)."""
    pieces = tuple(p.replace("{root}", str(root)) + "\n" for p in pieces)
    after = PRINT.format(root=root)
    count = len(pieces) + 1
    env = {**os.environ, "APPTAINER_CONTAINER": "/build-1/rootfs"}
    for index, piece in enumerate(pieces, 1):
        done = run(shell, root, shellstate.wrap(piece, index, count), env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert (root / shellstate.STATE.lstrip("/")).exists()
    env["APPTAINER_CONTAINER"] = "/build-2/rootfs"  # apptainer's per-build value: its own
    last = shellstate.wrap(after + "echo $APPTAINER_CONTAINER\n", count, count)
    second = run(shell, root, last, env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert second.stdout.splitlines()[-1] == "/build-2/rootfs"
    warm = (root / "out.txt").read_text()
    left = {p.name for p in root.iterdir()}
    assert not {n for n in left if n.startswith(".scitex-checkpoint")}, left
    cold = run(shell, root, "".join(pieces) + after, env)
    assert cold.returncode == 0, cold.stdout + cold.stderr
    assert warm == (root / "out.txt").read_text()
    assert "__scx_" not in warm


@pytest.mark.parametrize("shell", list(SHELLS))
@pytest.mark.parametrize("before", HANDED, ids=range(len(HANDED)))
def test_the_next_piece_sees_the_state_a_cold_build_hands_on(
    shell: str, before: str, tmp_path: Path
) -> None:
    handed_on(shell, tmp_path, before)


@pytest.mark.parametrize("shell", ["bash-as-sh", "bash"])
@pytest.mark.parametrize("before", BASH_HANDED, ids=range(len(BASH_HANDED)))
def test_bash_state_is_handed_on(shell: str, before: str, tmp_path: Path) -> None:
    handed_on(shell, tmp_path, before)


@pytest.mark.parametrize("shell", list(SHELLS))
def test_state_is_handed_on_through_a_middle_piece(shell: str, tmp_path: Path) -> None:
    # the middle piece takes the state back, changes it, and hands it on again
    handed_on(shell, tmp_path, "export A=1; mkdir -p s; cd s", "B=2; unset A; set -- x; umask 07")


@pytest.mark.parametrize("shell", list(SHELLS))
def test_a_state_the_next_shell_does_not_take_back_is_refused(shell: str, tmp_path: Path) -> None:
    first = run(shell, tmp_path, shellstate.wrap("V=1\n", 1, 2))
    assert first.returncode == 0, first.stderr
    state = tmp_path / shellstate.STATE.lstrip("/")
    with state.open("a") as text:  # what a shell would set but the piece did not leave
        text.write("SCX_EXTRA=1\n")
    second = run(shell, tmp_path, shellstate.wrap("echo two > two\n", 2, 2))
    assert second.returncode == shellstate.EXIT_CODE, second.stdout + second.stderr
    what = shellstate.reported(second.stderr) or ""
    assert what == "not handed on: variables (SCX_EXTRA)"
    said = shellstate.refusal(what)
    assert "does not take back as it was: variables (SCX_EXTRA)" in said
    assert shellstate.refused_at(what, 20, 12) == 11  # the checkpoint before the piece
    assert shellstate.refused_at("traps (x)", 20, 12) == 20
    assert shellstate.refused_at("traps (x)", None, 12) is None
    assert not (tmp_path / "two").exists() and not state.exists()


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
    if "-x" in SHELLS[shell]:  # nor the hand-over's
        assert "__scx_" not in middle.stderr and "echo two" in middle.stderr
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
    # a build's token: only its line counts, and the status alone is the recipe's
    ours = "scitex-checkpoint: [ab12] the umask (umask 0077)\nexit status 86\n"
    assert shellstate.reported(ours, "ab12") == "the umask (umask 0077)"
    assert shellstate.reported(ours, "ffff") is None
    assert shellstate.reported(log, "ab12") is None
    assert shellstate.reported("FATAL: ... %post section: exit status 86", "ab12") is None


def test_a_failing_last_status_and_running_jobs_get_their_own_advice() -> None:
    what = "the exit status of its last command (1), background jobs still running (12(sleep))"
    said = shellstate.refusal(what + ", traps (trap -- 'echo' EXIT)")
    assert said.startswith("the %post before this checkpoint ends with a command whose exit ")
    assert "status is 1" in said and "`if [ -e /x ]; then echo y; fi`" in said
    assert "leaves background jobs running (12(sleep))" in said and "`wait`" in said
    assert said.endswith(
        "; and changes traps (trap -- 'echo' EXIT), which does not reach the "
        "commands after it (they cannot be handed on): undo it before the checkpoint or "
        "set it only after it, or move the checkpoint"
    )
    assert "changes" not in shellstate.refusal("the exit status of its last command (2)")


@pytest.mark.parametrize("shell", list(SHELLS))
def test_a_value_whose_later_line_looks_like_a_shell_variable_is_refused(
    shell: str, tmp_path: Path
) -> None:
    # dash and busybox list such a value over several lines: the later ones are left out of
    # the state as the shell's own `PWD=`/`_=` lines are, so the value the next piece gets
    # differs (refused), and nothing of it runs as code; bash lists it as $'...' (handed on)
    piece = f"V=$(printf 'a\\nPWD=x\\n_=y; touch {tmp_path}/ran')\n"
    assert run(shell, tmp_path, shellstate.wrap(piece, 1, 2)).returncode == 0
    second = run(shell, tmp_path, shellstate.wrap('printf %s "$V" > two\n', 2, 2))
    assert not (tmp_path / "ran").exists()
    if shell.startswith("bash"):
        assert second.returncode == 0, second.stderr
        assert (tmp_path / "two").read_text() == f"a\nPWD=x\n_=y; touch {tmp_path}/ran"
        return
    assert second.returncode == shellstate.EXIT_CODE, second.stdout + second.stderr
    what = shellstate.reported(second.stderr) or ""
    assert what == "not handed on: variables (__scx_drop)"
    assert "a value of several lines, a later one beginning `NAME=`" in shellstate.refusal(what)
    assert not (tmp_path / "two").exists()


@pytest.mark.parametrize("shell", ["bash-as-sh", "bash"])
def test_a_function_redefined_before_a_checkpoint_is_handed_on(shell: str, tmp_path: Path) -> None:
    # there before the piece starts (as from BASH_ENV), redefined in it: the new body
    script = "g() { echo old; }\n" + shellstate.wrap("g() { echo new; }\n", 1, 2)
    assert run(shell, tmp_path, script).returncode == 0
    script = "g() { echo old; }\n" + shellstate.wrap("g > g.txt\n", 2, 2)
    done = run(shell, tmp_path, script)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "g.txt").read_text() == "new\n"


@pytest.mark.parametrize("shell", ["bash-as-sh", "bash"])
@pytest.mark.parametrize(
    ("change", "said"),
    [
        ("umask 077; enable -n umask trap", "builtins the check runs"),
        ("shopt -s nocasematch; pwd=/srv; random=42", "shopt options (shopt -s nocasematch)"),
        # a function's body may say "builtin": only the first line of `command -V` counts
        ('printf() { builtin printf "$@"; }', "builtins the check runs"),
        ("HISTFILE=hist; set -o history", "shell options (set -o history)"),
    ],
    ids=["enable-n", "nocasematch", "builtin-in-body", "history"],
)
def test_bash_state_that_would_blind_the_check_is_refused(
    shell: str, change: str, said: str, tmp_path: Path
) -> None:
    done = run(shell, tmp_path, shellstate.wrap(f"echo one\n{change}\n", 1, 2))
    assert done.returncode == shellstate.EXIT_CODE, done.stdout + done.stderr
    what = shellstate.reported(done.stdout + done.stderr)
    assert what is not None and said in what, what


@pytest.mark.parametrize("shell", list(SHELLS))
def test_a_wrapper_first_on_path_never_sees_our_files(shell: str, tmp_path: Path) -> None:
    """Our rm and readlink are the system's, not a recipe's wrapper earlier on PATH."""
    wrappers = tmp_path / "wrap"
    wrappers.mkdir()
    for name in ("rm", "readlink"):
        tool = wrappers / name
        tool.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path}/seen.txt\nexit 1\n')
        tool.chmod(0o755)
    first = f"export PATH={wrappers}:$PATH\nV=1\n"
    handed_on(shell, tmp_path, first, "echo two\n")
    assert not (tmp_path / "seen.txt").exists()


@pytest.mark.parametrize("shell", list(SHELLS))
def test_a_working_directory_moved_away_is_refused_or_followed(shell: str, tmp_path: Path) -> None:
    """The directory the piece is in was moved and another made at its name: a shell that
    still names the old path is refused (its name leads elsewhere now); one that names the
    moved directory (bash in POSIX mode) hands that on, as a cold build's next command sees."""
    moved = "mkdir m && cd m && mv ../m ../m2 && mkdir ../m\n"
    done = run(shell, tmp_path, shellstate.wrap(f"echo one\n{moved}", 1, 2))
    if done.returncode == shellstate.EXIT_CODE:
        what = shellstate.reported(done.stdout + done.stderr)
        assert what is not None and "the working directory (moved or replaced" in what, what
        return
    assert done.returncode == 0, done.stdout + done.stderr
    fresh = tmp_path / "again"
    fresh.mkdir()
    # (the cold run makes the directories again: the warm one's are removed first)
    handed_on(shell, fresh, "rm -rf {root}/m {root}/m2 && " + moved.replace("..", "{root}"))


# what quote() must hand back exactly (each value also behind a `set -f`, IFS `:` shell)
QUOTED = ["", "'", "''", "'''", "a", "'a", "a'", "a''b", "x\n", "\n'\n", "a\\'b\\\\", "*'*"]
QUOTED += ["piece.s?'[p]", " a ' b ", "%s%d\\n'", "it's:a b:'c'"]
# the IFS and options the piece may leave: unset, empty, `:`; noglob or not; nounset
STATES = ["unset IFS", "IFS=", "IFS=:", "unset IFS; set -f", "IFS=; set -f -u", "IFS=:; set -f"]


@pytest.mark.parametrize("shell", list(SHELLS))
def test_quote_hands_back_each_value_and_leaves_options_and_ifs(shell: str, tmp_path: Path) -> None:
    script = "__scx_sq=\\'\n"
    for state in STATES:
        for value in QUOTED:
            script += f"{state}; __scx_a={shlex.quote(value)}\n"
            script += 'printf "%s|%s\\037" "$-" "${IFS+set:$IFS}" >>before.txt\n'
            script += shellsnap.quote("$__scx_a", "__scx_v")
            script += 'printf "%s|%s\\037" "$-" "${IFS+set:$IFS}" >>after.txt\n'
            script += 'printf "%s\\037" "$__scx_v" >>quoted.txt; eval "__scx_e=$__scx_v"\n'
            script += 'printf "%s\\037" "$__scx_e" >>back.txt\n'
    done = run(shell, tmp_path, script)
    assert done.returncode == 0, done.stdout + done.stderr[-2000:]
    read = lambda name: (tmp_path / name).read_text().split("\x1f")[:-1]  # noqa: E731
    assert read("back.txt") == QUOTED * len(STATES)
    assert read("quoted.txt") == ["'" + v.replace("'", "'\\''") + "'" for v in QUOTED] * len(STATES)
    before = read("before.txt")
    assert before == read("after.txt")
    assert {b.split("|", 1)[1] for b in before} == {"", "set:", "set::"}
    assert sum("f" in b.split("|", 1)[0] for b in before) == 3 * len(QUOTED)


# a value of 2**K bytes of x, then quotes (the old quoting matched `${v#*"'"}` from every
# prefix: 1 MiB took minutes)
BIG = "BIG=x; I=0; while [ $I -lt {k} ]; do BIG=$BIG$BIG; I=$((I + 1)); done\n"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("shell", list(SHELLS))
def test_quote_is_linear_in_the_length_of_the_value(shell: str, tmp_path: Path) -> None:
    tail = " a'b''c' 'd\n'"
    script = "__scx_sq=\\'\n" + BIG.format(k=20) + f'__scx_a="$BIG{tail}"\n'
    script += shellsnap.quote("$__scx_a", "__scx_v")
    script += 'eval "__scx_e=$__scx_v"; [ "$__scx_e" = "$__scx_a" ]\n'
    script += 'printf %s "${#__scx_v}" >length.txt\n'
    done = run(shell, tmp_path, script)
    assert done.returncode == 0, done.stderr[-2000:]
    quoted = 2**20 + len(tail) + 3 * tail.count("'") + 2  # each ' as '\\''
    assert (tmp_path / "length.txt").read_text() == str(quoted)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("shell", list(SHELLS))
def test_a_long_value_with_quotes_near_its_end_is_handed_on(shell: str, tmp_path: Path) -> None:
    # 1 MiB (the variable listings' `${k#export }` and the like were quadratic too under
    # bash and busybox: now stripped only from the lines that begin with them)
    k = 20
    # a long variable and positional parameter (not exported: no command could run), quotes
    # near the end; a working directory with a quote in its name (no newline in a
    # positional parameter: dash lists their snapshot over several lines, refused)
    piece = BIG.format(k=k) + (
        "BIG=\"$BIG a'b''c' *? \\\\ 'd'\"; set -- \"$BIG\" \"'\"; BIG=\"$BIG\n'e\"\n"
        'mkdir -p "it\'s"; cd "it\'s"'
    )
    handed_on(shell, tmp_path, piece)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("shell", list(SHELLS))
def test_a_value_of_many_lines_is_handed_on_in_linear_time(shell: str, tmp_path: Path) -> None:
    """A listing of 100k lines (`X=$(seq ...)`): each snapshot was built by appending one
    line at a time, copying the whole string each time (busybox took 93 s)."""
    first = "X=$(seq 1 100000)\n"
    done = run(shell, tmp_path, shellstate.wrap(first, 1, 2))
    assert done.returncode == 0, done.stderr[-2000:]
    check = '[ "$X" = "$(seq 1 100000)" ] && echo same >same.txt\n'
    done = run(shell, tmp_path, shellstate.wrap(check, 2, 2))
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "same.txt").read_text() == "same\n"
