"""The shell-state check around each checkpoint of a cached ``%post``.

Each piece of a ``%post`` cut at checkpoints runs in its own shell (its own
``apptainer build``), so state the shell holds does not cross a checkpoint:
an ``exit 0`` before it does not stop the pieces after it; the working
directory, ``umask``, ``set`` options (xtrace too), traps, ``ulimit``s, open
fds, shell variables with their export/readonly attributes (under bash:
every ``declare`` attribute, ``shopt`` and functions), positional
parameters, ``$?`` and background jobs do not reach the commands after it.
A cold build would see them; a cached one would silently make another image.
Under dash and busybox ash a function cannot be listed: the one known gap.

So every piece of a ``%post`` that has checkpoints gets a POSIX-sh
:func:`prologue` and (all but the last) an :func:`epilogue`, part of the
stage's text (so of its key):

* the prologue of pieces 2..N: if :data:`MARKER` (written by the previous
  piece's epilogue) is absent, that piece ended ``%post`` early: ``exit 0``,
  as a cold build skips the rest; otherwise it removes the marker (the image
  never holds it);
* the prologue of pieces 1..N-1 snapshots the state; the epilogue snapshots
  it again and, if anything differs (or ``$?`` is not 0, or a child of the
  shell still runs), prints one line beginning with
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

#: Variables the shell running a piece changes by itself: not compared (``PWD`` is
#: compared on its own, as the working directory).
SELF_CHANGING = (
    "_",
    "LINENO",
    "RANDOM",
    "SRANDOM",
    "SECONDS",
    "EPOCHSECONDS",
    "EPOCHREALTIME",
    "PIPESTATUS",
    "BASH_LINENO",
    "BASH_SOURCE",
    "BASH_COMMAND",
    "BASH_SUBSHELL",
    "BASHPID",
    "FUNCNAME",
    "PPID",
    "PWD",
)

# a line's name: `NAME=value` (set), `declare -x NAME=...`, `export NAME=...`, `readonly NAME`
_NAME = "__scx_k=${__scx_l#declare -* }; __scx_k=${__scx_k#export }; __scx_k=${__scx_k#readonly }; "
_FILTER = "|".join(["__scx_*", *(f"{name}|{name}=*" for name in SELF_CHANGING)])

# ($? and $- first: `set +x` changes the one, the other; rm and readlink: through busybox in
# an image that has it but not their links)
_SILENCE = (
    "case $-:$? in *x*:0) set +x; __scx_x=x __scx_rc=0 ;; *x*:*) __scx_rc=$?; set +x; "
    "__scx_x=x ;; *:*) __scx_x= __scx_rc=$? ;; esac\n"
    "case $(command -v rm) in '') __scx_rm=busybox ;; *) __scx_rm= ;; esac\n"
    "case $(command -v readlink) in '') __scx_rl=busybox ;; *) __scx_rl= ;; esac\n"
)
_RESTORE = "case $__scx_x in x) set -x ;; esac\n"


def _capture(var: str, command: str, named: bool = False) -> str:
    """Shell lines setting ``var`` to ``command``'s output lines, run in the shell itself
    (a subshell may not keep options, traps or jobs), joined by the unit separator;
    ``named``: each line as ``NAME=line`` (``=line``: no name), our own and self-changing
    names dropped."""
    keep = "printf '%s\\037' \"$__scx_l\""
    if named:
        keep = (
            _NAME
            + f"case $__scx_k in {_FILTER}) continue ;; esac; "
            # a later line of a multi-line value has no name (kept as `=line`)
            + "__scx_n=${__scx_k%%=*}; "
            + 'case $__scx_k in *=*) ;; *) [ "$__scx_k" != "$__scx_l" ] || __scx_n= ;; esac; '
            + 'case $__scx_n in ""|[0-9]*|*[!A-Za-z0-9_]*) __scx_n= ;; esac; '
            + 'printf \'%s=%s\\037\' "$__scx_n" "$__scx_l"'
        )
    return (
        f"{command} >|{_SCRATCH}\n"
        f"{var}=$(while IFS= read -r __scx_l; do {keep}; done <{_SCRATCH})\n"
    )


def _snapshot(p: str) -> str:
    """Shell lines setting ``__scx_<p>_*`` to the current state (each single-line)."""
    return (
        # limits first, through a pipe: `ulimit -f 1` would stop us writing the scratch file
        # (hard limits too: lowering one is for good, a later raise fails only in a cold build)
        f"__scx_{p}_limits=$({{ ulimit -a; ulimit -H -a 2>/dev/null; }} | "
        "while IFS= read -r __scx_l; do "
        "printf '%s\\037' \"$__scx_l\"; done)\n" + (_limits() if p == "b" else "") + _state(p)
    )


def _state(p: str) -> str:
    """Shell lines setting ``__scx_<p>_*`` to the current state (each single-line)."""
    return (
        f"__scx_{p}_pwd=$(pwd)\n"
        f"__scx_{p}_umask=$(umask)\n"
        f'__scx_{p}_args="$#:$*"\n'
        # xtrace as the piece had it ($- before our `set +x`)
        + _capture(f"__scx_{p}_opts", "set +o").replace(
            "do printf",
            'do case $__scx_l$__scx_x in "set +o xtracex") __scx_l="set -o xtrace" ;; esac; printf',
        )
        + _capture(f"__scx_{p}_traps", "trap")
        + _capture(f"__scx_{p}_exports", "export -p", named=True)
        + _capture(f"__scx_{p}_readonly", "readonly -p", named=True)
        + 'if [ -n "${BASH_VERSION-}" ]; then\n'
        # bash: attributes too (declare -l/-i/-a), and functions by name
        + _capture(f"__scx_{p}_vars", "declare -p", named=True)
        + _capture(f"__scx_{p}_shopt", "{ shopt -p; enable -n; }")  # disabled builtins too
        # each function by name and the checksum of its body: a redefinition shows too
        + _capture(
            f"__scx_{p}_funcs",
            "{ declare -F | while read -r _ _ __scx_f; do printf 'declare -f %s %s\\n' "
            '"$__scx_f" "$(declare -f "$__scx_f" | cksum 2>/dev/null)"; done; }',
            named=False,
        )
        + "else\n"
        + _capture(f"__scx_{p}_vars", "set", named=True)
        + f"__scx_{p}_shopt= __scx_{p}_funcs=\n"
        + "fi\n"
        # the whole fd table, listed by a child (no command-substitution pipe of ours open
        # in the shell while it is read); the child's own redirection is its own fd
        + f"__scx_{p}_fds=\n"
        + "if [ -d /proc/$$/fd ]; then\n"
        + '  (for __scx_n in /proc/$$/fd/*; do __scx_t=$($__scx_rl readlink "$__scx_n") && '
        'printf \'%s>%s\\n\' "${__scx_n##*/}" "$__scx_t"; done) >|'
        + f"{_SCRATCH} 2>&1 || :\n"
        + f"  __scx_{p}_fds=$(while IFS= read -r __scx_l; do printf '%s\\037' \"$__scx_l\"; "
        f"done <{_SCRATCH})\n" + "fi\n" + f"$__scx_rm rm -f {_SCRATCH} || exit 127\n"
    )


#: Shell lines setting ``__scx_jobs`` to the shell's children still running (``pid(name)``).
_JOBS = (
    "__scx_jobs=\n"
    "if [ -r /proc/$$/task/$$/children ]; then\n"
    "  __scx_c=; read -r __scx_c </proc/$$/task/$$/children || :\n"
    "  for __scx_n in $__scx_c; do\n"
    "    __scx_t=; [ ! -r /proc/$__scx_n/stat ] || read -r __scx_t </proc/$__scx_n/stat || :\n"
    '    case ${__scx_t##*") "} in Z*|"") ;; *) __scx_t=${__scx_t#*"("}\n'
    '      __scx_jobs="$__scx_jobs $__scx_n(${__scx_t%")"*})" ;; esac\n'
    "  done\n"
    "else\n" + _capture("__scx_c", "jobs -p") + '  [ -z "$__scx_c" ] || __scx_jobs=" $__scx_c"\n'
    "fi\n"
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


def _limits() -> str:
    """The epilogue's check of the resource limits, before it writes any file."""
    return (
        "__scx_w=\n" + _item("limits", "resource limits") + 'if [ -n "$__scx_w" ]; then\n'
        f"  printf '%s\\n' \"{TAG}${{__scx_w#, }}\" >&2\n"
        f"  printf '%s\\n' \"{TAG}${{__scx_w#, }}\"\n"
        f"  exit {EXIT_CODE}\n"
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
        + _JOBS
        + _snapshot("b")
        + "__scx_w=\n"
        + '[ "$__scx_rc" = 0 ] || '
        '__scx_w="$__scx_w, the exit status of its last command ($__scx_rc)"\n'
        + '[ -z "$__scx_jobs" ] || '
        '__scx_w="$__scx_w, background jobs still running (${__scx_jobs# })"\n'
        + '[ "$__scx_a_pwd" = "$__scx_b_pwd" ] || '
        '__scx_w="$__scx_w, the working directory (cd $__scx_b_pwd)"\n'
        '[ "$__scx_a_umask" = "$__scx_b_umask" ] || '
        '__scx_w="$__scx_w, the umask (umask $__scx_b_umask)"\n'
        '[ "$__scx_a_args" = "$__scx_b_args" ] || '
        '__scx_w="$__scx_w, the positional parameters (set -- ${__scx_b_args#*:})"\n'
        + _item("opts", "shell options")
        + _item("traps", "traps")
        + _item("fds", "open fds")
        + _item("shopt", "shopt options or disabled builtins")
        + _item("funcs", "functions")
        # a variable's later lines: no name to give
        + _item("vars", "variables", "names", "variables")
        + _item("exports", "exported variables", "names")
        + _item("readonly", "readonly variables", "names")
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


_STATUS_ITEM_RE = re.compile(r"the exit status of its last command \((\d+)\)(?:, |\Z)")
_JOBS_ITEM_RE = re.compile(
    r"background jobs still running \(((?:\d+(?:\([^)]*\))?[ \x1f]?)*)\)(?:, |\Z)"
)


def refusal(what: str) -> str:
    """The message of the refusal at a checkpoint, from :func:`reported`."""
    if not what:
        what = "shell state (its message went to a redirected stderr)"
    said: list[str] = []
    status = _STATUS_ITEM_RE.match(what)
    if status:
        said.append(
            f"ends with a command whose exit status is {status[1]}, which a cold build carries "
            "on (and fails there when the checkpoint ends %post): end the piece with a command "
            "that succeeds (`if [ -e /x ]; then echo y; fi`, not `[ -e /x ] && echo y`)"
        )
        what = what[status.end() :]
    jobs = _JOBS_ITEM_RE.match(what)
    if jobs:
        said.append(
            f"leaves background jobs running ({jobs[1].strip()}), which a cold build lets run "
            "on: `wait` for them before the checkpoint"
        )
        what = what[jobs.end() :]
    if what:
        does = "do" if "), " in what else "does"  # the items end with their details
        said.append(
            f"changes {what}, which {does} not reach the commands after it: undo it before the "
            "checkpoint or set it only after it, or move the checkpoint"
        )
    return "the %post before this checkpoint " + "; and ".join(said)
