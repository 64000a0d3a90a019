"""The shell-state check around each checkpoint of a cached ``%post``.

Each piece of a ``%post`` cut at checkpoints runs in its own shell (its own
``apptainer build``), so state the shell holds does not cross a checkpoint:
an ``exit 0`` before it does not stop the pieces after it; the working
directory, ``umask``, ``set`` options, traps, where fds 0/1/2 point, shell
variables and positional parameters set before it do not reach the commands
after it.  A cold build would see them; a cached one would silently make
another image.

So every piece of a ``%post`` that has checkpoints gets a POSIX-sh
:func:`prologue` and (all but the last) an :func:`epilogue`, part of the
stage's text (so of its key):

* the prologue of pieces 2..N: if :data:`MARKER` (written by the previous
  piece's epilogue) is absent, that piece ended ``%post`` early: ``exit 0``,
  as a cold build skips the rest; otherwise it removes the marker (the image
  never holds it);
* the prologue of pieces 1..N-1 snapshots the state; the epilogue snapshots
  it again and, if anything differs, prints one line beginning with
  :data:`TAG` to stderr naming what changed and exits :data:`EXIT_CODE`;
  otherwise it writes :data:`MARKER`.

The staged builder turns that line (:func:`reported`) into a
:class:`~scitex_container.errors.DefFileError` at the checkpoint's line.
Our own variables are named ``__scx_*`` and kept single-line (the list
separator is the ASCII unit separator), so one ``case`` pattern drops them
from the ``set`` output; xtrace is off for our lines (``set +x`` is traced
once) and restored after the prologue.  Works under dash, bash (as ``sh``
or ``bash``) and busybox ash.
"""

from __future__ import annotations

import re

#: What begins the line an epilogue prints when the state changed.
TAG = "scitex-checkpoint: "
#: The exit status of an epilogue that found the state changed.
EXIT_CODE = 86
#: The file an epilogue leaves for the next piece's prologue (never in the image).
MARKER = "/.scitex-checkpoint"
_SCRATCH = "/.scitex-checkpoint.state"

#: Variables a shell changes by itself (or that we compare another way): not compared.
SELF_CHANGING = (
    "_",
    "LINENO",
    "RANDOM",
    "SRANDOM",
    "SECONDS",
    "EPOCHSECONDS",
    "EPOCHREALTIME",
    "PIPESTATUS",
    "BASH_*",
    "BASHPID",
    "FUNCNAME",
    "HISTCMD",
    "OPTIND",
    "PPID",
    "PWD",
    "OLDPWD",
    "COLUMNS",
    "LINES",
    "SHELLOPTS",
    "BASHOPTS",
)

_FILTER = "|".join(["__scx_*", *(f"{name}=*" for name in SELF_CHANGING)])

# (rm and readlink: through busybox in an image that has it but not their links)
_SILENCE = (
    "case $- in *x*) set +x; __scx_x=1 ;; *) __scx_x= ;; esac\n"
    "case $(command -v rm) in '') __scx_rm=busybox ;; *) __scx_rm= ;; esac\n"
    "case $(command -v readlink) in '') __scx_rl=busybox ;; *) __scx_rl= ;; esac\n"
)
_RESTORE = "case $__scx_x in 1) set -x ;; esac\n"


def _snapshot(p: str) -> str:
    """Shell lines setting ``__scx_<p>_*`` to the current state (each single-line)."""
    return (
        f"__scx_{p}_pwd=$(pwd)\n"
        f"__scx_{p}_umask=$(umask)\n"
        # in the shell itself: a subshell may not keep the options and traps
        f"set +o >|{_SCRATCH}\n"
        f"__scx_{p}_opts=$(while IFS= read -r __scx_l; do "
        f"printf '%s\\037' \"$__scx_l\"; done <{_SCRATCH})\n"
        f"trap >|{_SCRATCH}\n"
        f"__scx_{p}_traps=$(while IFS= read -r __scx_l; do "
        f"printf '%s\\037' \"$__scx_l\"; done <{_SCRATCH})\n"
        f"$__scx_rm rm -f {_SCRATCH} || exit 127\n"
        f"__scx_{p}_fds=\n"
        "if [ -d /proc/$$/fd ]; then\n"
        f"  __scx_{p}_fds=$(for __scx_n in 0 1 2; do "
        "printf '%s>%s\\037' \"$__scx_n\" "
        '"$($__scx_rl readlink "/proc/$$/fd/$__scx_n" 2>&1)"; done)\n'
        "fi\n"
        f'__scx_{p}_args="$#:$*"\n'
        f"__scx_{p}_vars=$(set | while IFS= read -r __scx_l; do "
        f"case $__scx_l in {_FILTER}) continue ;; esac; printf '%s\\037' \"$__scx_l\"; done)\n"
    )


def _diff(what: str, kind: str) -> str:
    """Shell lines appending to ``__scx_d`` the entries of ``__scx_b_<what>`` not in
    ``__scx_a_<what>`` (``kind`` ``names``: their names, both ways)."""
    new = f"__scx_b_{what}"
    old = f"__scx_a_{what}"
    one = (
        "__scx_r=${}\n"
        'while [ -n "$__scx_r" ]; do\n'
        '  __scx_l=${{__scx_r%%"$__scx_s"*}}; __scx_r=${{__scx_r#*"$__scx_s"}}\n'
        '  case "$__scx_s${}" in *"$__scx_s$__scx_l$__scx_s"*) ;; *)\n'
        "{}"
        "  ;; esac\n"
        "done\n"
    )
    if kind == "names":
        add = (
            "    case $__scx_l in [A-Za-z_]*=*) __scx_l=${__scx_l%%=*}\n"
            '      case " $__scx_d " in *" $__scx_l "*) ;; *) __scx_d="$__scx_d $__scx_l" ;; esac'
            " ;; esac\n"
        )
        return one.format(new, old, add) + one.format(old, new, add)
    add = '    __scx_d="$__scx_d${__scx_d:+; }$__scx_l"\n'
    return one.format(new, old, add)


def _item(what: str, label: str, kind: str = "lines", unnamed: str = "") -> str:
    return (
        f'if [ "$__scx_a_{what}" != "$__scx_b_{what}" ]; then\n'
        "__scx_d=\n"
        + _diff(what, kind)
        + f'if [ -n "$__scx_d" ]; then __scx_w="$__scx_w, {label} (${{__scx_d# }})"; '
        f'else __scx_w="$__scx_w, {unnamed or label}"; fi\n'
        "fi\n"
    )


def prologue(index: int, count: int) -> str:
    """The lines before piece ``index`` (1-based) of ``count`` pieces."""
    text = "# scitex: checkpoint prologue (generated)\n" + _SILENCE
    if index > 1:
        text += f"if [ -e {MARKER} ]; then $__scx_rm rm -f {MARKER} || exit 127; else exit 0; fi\n"
    if index < count:
        text += "__scx_s=$(printf '\\037')\n" + _snapshot("a")
    return text + _RESTORE


def epilogue() -> str:
    """The lines after every piece but the last."""
    return (
        "# scitex: checkpoint epilogue (generated)\n"
        + _SILENCE
        + _snapshot("b")
        + "__scx_w=\n"
        + '[ "$__scx_a_pwd" = "$__scx_b_pwd" ] || '
        '__scx_w="$__scx_w, the working directory (cd $__scx_b_pwd)"\n'
        '[ "$__scx_a_umask" = "$__scx_b_umask" ] || '
        '__scx_w="$__scx_w, the umask (umask $__scx_b_umask)"\n'
        '[ "$__scx_a_args" = "$__scx_b_args" ] || '
        '__scx_w="$__scx_w, the positional parameters (set -- ${__scx_b_args#*:})"\n'
        + _item("opts", "shell options")
        + _item("traps", "traps")
        + _item("fds", "redirections of fds 0-2")
        # a function (bash lists them in `set`) or a variable's later lines: no name to give
        + _item("vars", "variables", "names", "functions or variables")
        + 'if [ -n "$__scx_w" ]; then\n'
        f'  __scx_w="{TAG}${{__scx_w#, }}"\n'
        "  printf '%s\\n' \"$__scx_w\" >&2\n"
        # stderr sent elsewhere: say it on stdout too (the build log merges both)
        '  [ "$__scx_a_fds" = "$__scx_b_fds" ] || printf \'%s\\n\' "$__scx_w"\n'
        f"  exit {EXIT_CODE}\n"
        "fi\n"
        f": >|{MARKER}\n"
    )


def wrap(text: str, index: int, count: int) -> str:
    """Piece ``index`` of ``count`` with its prologue and epilogue (unchanged when alone)."""
    if count < 2:
        return text
    body = text if text.endswith("\n") or not text else text + "\n"
    return prologue(index, count) + body + (epilogue() if index < count else "")


_LINE_RE = re.compile(rf"^{re.escape(TAG)}(.+)$", re.M)
_STATUS_RE = re.compile(rf"exit status {EXIT_CODE}\b")


def reported(output: str) -> str | None:
    """What changed, from a stage build's output (``""`` when the epilogue's exit status is
    there but its line is not: the piece redirected stderr); None: not ours."""
    found = _LINE_RE.findall(output)
    if found:
        return found[-1].strip()
    return "" if _STATUS_RE.search(output) else None


def refusal(what: str) -> str:
    """The message of the refusal at a checkpoint, from :func:`reported`."""
    if not what:
        what = "shell state (its message went to a redirected stderr)"
    does = "do" if "), " in what else "does"  # the items end with their details
    return (
        f"the %post before this checkpoint changes {what}, which {does} not reach the commands "
        "after it: undo it before the checkpoint or set it only after it, or move the checkpoint"
    )
