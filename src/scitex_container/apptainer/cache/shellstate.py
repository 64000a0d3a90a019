"""The shell state handed on across each checkpoint of a cached ``%post``.

Each piece of a ``%post`` cut at checkpoints runs in its own shell (its own
``apptainer build``), so the state the shell holds would not cross a
checkpoint; a cold build runs one shell.  So every piece of a ``%post`` that
has checkpoints gets a POSIX-sh :func:`prologue` and (all but the last) an
:func:`epilogue`, part of the stage's text (so of its key):

* the epilogue refuses what a shell cannot re-create: traps (an ``EXIT``
  trap would fire at the end of each piece), open fds, soft and hard
  ``ulimit`` limits, background jobs, a non-zero ``$?``, a changed per-build
  apptainer variable (:data:`~.shellsnap.PER_BUILD`): it prints one line
  beginning with :data:`TAG` naming them and exits :data:`EXIT_CODE`;
* otherwise it saves the rest into :data:`STATE` (in the root fs: part of
  the stage's entry and digest) in the shells' own re-input formats (``set``,
  ``export -p``, ``readonly -p``, ``set +o``; under bash ``declare -p``,
  ``declare -f``, ``shopt -p``, ``enable -n``), with the working directory,
  ``umask`` and positional parameters quoted by us, and writes
  :data:`MARKER`;
* the prologue of pieces 2..N: no :data:`MARKER`: the piece before ended
  ``%post`` early: ``exit 0``, as a cold build skips the rest; otherwise it
  unsets the variables (and bash functions) its shell holds but for the
  shell's own ones, sources :data:`STATE` at top level (so bash ``declare``
  makes globals), removes the state and marker files (the image never holds
  them), reads the state again and compares it with the one saved: anything
  the shell did not take back as it was is refused the same way, with
  :data:`HANDOVER` after the tag.  A hand-over is faithful or refused.

The staged builder turns that line (:func:`reported`) into a
:class:`~scitex_container.errors.DefFileError` at the checkpoint's line
(:func:`refused_at`).  Under dash and busybox ash a function cannot be
listed, so is neither handed on nor seen: the one known gap.  Our own
variables are named ``__scx_*`` and kept single-line (the list separator is
the ASCII unit separator), so one ``case`` pattern drops them from the
``set`` output; all but the snapshot the epilogue compares with are unset
when the prologue ends; xtrace and allexport are off for our lines (``set
+x`` is traced once) and set again after the prologue.  Works under dash,
bash (as ``sh`` or ``bash``) and busybox ash.
"""

from __future__ import annotations

import re

from scitex_container.apptainer.cache.shellsnap import (
    HANDED,
    MARKER,
    SCRATCH,
    SELF_CHANGING,
    STATE,
    capture,
    clear,
    handed,
    item,
    kept,
    limits,
    quote,
    save,
)

__all__ = ["EXIT_CODE", "MARKER", "SELF_CHANGING", "STATE", "TAG", "epilogue", "prologue", "wrap"]

#: What begins the line a prologue or epilogue prints when it refuses.
TAG = "scitex-checkpoint: "
#: What follows :data:`TAG` when a prologue found the state not taken back as saved.
HANDOVER = "not handed on: "
# a later line of a multi-line value that begins like a line of the shell's own variables
_DROPPED = "a value of several lines, a later one beginning `NAME=` with NAME the shell's own"
#: The exit status of a prologue or epilogue that refuses.
EXIT_CODE = 86
#: The variable a staged build sets (``APPTAINERENV_`` + it) to a fresh random token: the
#: prologue takes it out of the environment and every refusal line carries it, so neither a
#: recipe's own ``exit 86`` nor a line it prints beginning with :data:`TAG` passes for ours.
NONCE_VAR = "__scx_nonce"

# ($? and $- first: `set +x` changes the one, the other; rm and readlink: through busybox in
# an image that has it but not their links)
_SILENCE = (
    "case $-:$? in *x*:0) set +x; __scx_x=x __scx_rc=0 ;; *x*:*) __scx_rc=$?; set +x; "
    "__scx_x=x ;; *:*) __scx_x= __scx_rc=$? ;; esac\n"
    # allexport off too: it would export our own variables
    "case $- in *a*) set +a; __scx_ax=a ;; *) __scx_ax= ;; esac\n"
)


def _tool(var: str, arg: str, name: str) -> str:
    # by absolute path: a wrapper the recipe put first on PATH (or a function or alias of
    # that name) would run in our place, and could keep our files
    return (
        f"{var}=busybox {arg}={name}\n"
        f'for __scx_t in /bin/{name} /usr/bin/{name} "$(command -v {name})"; do case $__scx_t in '
        f'/*) if [ -x "$__scx_t" ]; then {var}=$__scx_t {arg}=; break; fi ;; esac; done\n'
    )


_TOOLS = _tool("__scx_rm", "__scx_ra", "rm") + _tool("__scx_rl", "__scx_la", "readlink")
#: The builtins our lines run by name (a function, alias or ``enable -n`` of one would run
#: in its place and blind the check); bash's own after them.
GUARDED: tuple[str, ...] = (
    *("command", "cd", "printf", "pwd", "read", "umask", "ulimit", "jobs", "test", "["),
    *("set", "trap", "export", "readonly", "unset", "alias", "unalias", "exit"),
    *(":", "break", "continue", "eval", "shift"),
)
GUARDED_BASH = ("declare", "shopt", "enable")
# a builtin, or one whose system command does the same for us (bash `enable -n printf`)
# (its first line only: bash prints a function's body after it, which may say "builtin")
_CHECK = (
    '__scx_t=$(command -V "$__scx_n" 2>&1); case ${__scx_t%%"$__scx_nl"*} in *builtin) ;; '
    '*" is /bin/"*|*" is /usr/bin/"*) '
    'case $__scx_n in printf|test|"[") ;; *) exit 1 ;; esac ;; *) exit 1 ;; esac'
)
#: When aliases ``__scx_<old>_aliases`` and ``__scx_<new>_aliases`` differ: ``label``, with
#: ``__scx_d`` the names in the new ones, one line (an alias's value may hold newlines).
_ALIAS_NAMES = (
    'if [ "$__scx_{old}_aliases" != "$__scx_{new}_aliases" ]; then\n'
    "__scx_d=\n"
    "while IFS= read -r __scx_l; do __scx_l=${{__scx_l#alias }}; "
    'case $__scx_l in [A-Za-z0-9_]*=*) __scx_d="$__scx_d ${{__scx_l%%=*}}" ;; esac; '
    "done <<__SCX_ALIASES__\n"
    "$__scx_{new}_aliases\n"
    "__SCX_ALIASES__\n"
    '__scx_w="$__scx_w, {label}"\n'
    "fi\n"
)
_GUARD = (
    # the piece's aliases would be expanded in every line parsed from here on: read, then gone
    "__scx_b_aliases=$(\\alias)\n"
    "\\unalias -a 2>/dev/null || :\n"
    "__scx_w=\n"
    # (a value of several lines, ours, only in the subshell: `set` would list it on two)
    "( __scx_nl='\n'\n  for __scx_n in "
    + " ".join(f"'{n}'" for n in GUARDED)
    + "; do "
    + _CHECK
    + "; done\n"
    '  [ -z "${BASH_VERSION-}" ] || for __scx_n in '
    + " ".join(GUARDED_BASH)
    + "; do "
    + _CHECK
    + "; done ) || "
    '__scx_w="$__scx_w, builtins the check runs (a function, alias or enable -n of one of '
    + " ".join(GUARDED + GUARDED_BASH)
    + ')"\n'
    # a readonly IFS: our `IFS= read` lines would fail
    '( IFS= ) 2>/dev/null || __scx_w="$__scx_w, IFS (made readonly)"\n'
    # bash's nocasematch: our `case` patterns would match names they must not
    'if [ -n "${BASH_VERSION-}" ] && shopt -q nocasematch; then '
    '__scx_w="$__scx_w, shopt options (shopt -s nocasematch)"; fi\n'
    # bash's command history: our lines would be recorded (and written to HISTFILE)
    'if [ -n "${BASH_VERSION-}" ] && shopt -oq history; then '
    '__scx_w="$__scx_w, shell options (set -o history)"; fi\n'
    + _ALIAS_NAMES.format(old="a", new="b", label="aliases (now:${__scx_d:- none})")
)
_SEPARATORS = "__scx_s=$(printf '\\037') __scx_sq=\\'\n"
# our temporaries gone (the epilogue needs only the snapshot `__scx_a_*`), xtrace back
_TEMPORARIES = "x rc rm ra rl la s sq l k n r q h v p a f fa ro w d t c jobs drop " + " ".join(
    f"b_{what} c_{what}" for what, _ in (*HANDED, ("aliases", ""))
)
_RESTORE = (
    "__scx_t=$__scx_ax$__scx_x\nunset -v "
    + " ".join(f"__scx_{name}" for name in ["ax", *_TEMPORARIES.split()] if name != "t")
    + "\n"
    # each `set` after the last unset: under allexport an unset name stays exported
    "case $__scx_t in ax) unset -v __scx_t; set -a -x ;; a) unset -v __scx_t; set -a ;;\n"
    "  x) unset -v __scx_t; set -x ;; *) unset -v __scx_t ;; esac\n"
)


def _refuse(what: str, stdout: str = "") -> str:
    """Shell lines refusing when ``__scx_w`` is not empty: one line beginning with
    :data:`TAG` (and ``what``) on stderr, and on stdout too unless the shell test
    ``stdout`` holds (stderr may be sent elsewhere; the build log merges both), exit
    :data:`EXIT_CODE`."""
    text = (
        'if [ -n "$__scx_w" ]; then\n'
        f'  __scx_w="{TAG}${{__scx_tag:+[$__scx_tag] }}{what}${{__scx_w#, }}"\n'
        "  printf '%s\\n' \"$__scx_w\" >&2\n"
    )
    if stdout:
        text += f"  {stdout} || printf '%s\\n' \"$__scx_w\"\n"
    return text + f"  exit {EXIT_CODE}\nfi\n"


def _take_back() -> str:
    """The prologue of a piece after a checkpoint: the saved state restored at top level
    (``.``), the state file and the marker removed, the state read again and compared
    with the saved one."""
    return (
        '[ -z "${BASH_VERSION-}" ] || shopt -u nocasematch\n'  # our `case` patterns
        + clear()
        + f". {STATE}\nunset -v __scx_drop\n"
        + _TOOLS  # PATH is the saved one now
        + f'"$__scx_rm" $__scx_ra -f {STATE} {MARKER} {SCRATCH} || exit 127\n'
        + handed("c")
        + "__scx_w=\n"
        # what the image's environment files (sourced by apptainer before %post) alias now
        + "__scx_c_aliases=$(\\alias)\n"
        + _ALIAS_NAMES.format(
            old="b", new="c", label="aliases (the environment files define:${__scx_d:- none})"
        )
        + "".join(
            f'[ "$__scx_b_{what}" = "$__scx_c_{what}" ] || '
            f'__scx_w="$__scx_w, {label} (${{__scx_c_{what}}})"\n'
            for what, label in HANDED[:2]
        )
        + '[ "$__scx_b_args" = "$__scx_c_args" ] || '
        '__scx_w="$__scx_w, the positional parameters (set -- ${__scx_c_args#*:})"\n'
        + "".join(
            item(
                what,
                label,
                "names" if what in ("vars", "exports", "readonly") else "lines",
                label if what == "vars" else "",
                was="b",
            )
            for what, label in HANDED[3:]
        )
        + _refuse(HANDOVER)
        # an rm of the image's that does not remove (a recipe's stand-in) would ship our
        # files, the saved state among them
        + f'if [ -e {STATE} ] || [ -e {MARKER} ] || [ -e {SCRATCH} ]; then __scx_w="'
        f", the image's rm ($__scx_rm $__scx_ra) left {MARKER}* in place\"; fi\n"
        + _refuse(HANDOVER)
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
    "else\n" + capture("__scx_c", "jobs -p") + '  [ -z "$__scx_c" ] || __scx_jobs=" $__scx_c"\n'
    "fi\n"
)


def prologue(index: int, count: int) -> str:
    """The lines before piece ``index`` (1-based) of ``count`` pieces."""
    text = "# scitex: checkpoint prologue (generated)\n" + _SILENCE
    text += f"__scx_tag=${{{NONCE_VAR}-}}; unset -v {NONCE_VAR}\n"
    if index > 1:
        text += f"[ -e {MARKER} ] || exit 0\n"
    if index > 1 or index < count:
        text += _TOOLS + _SEPARATORS
    if index > 1:
        text += _take_back()
    if index < count:
        text += limits("a") + kept("a") + "__scx_a_aliases=$(\\alias)\n"
    return text + _RESTORE


def epilogue() -> str:
    """The lines after every piece but the last."""
    return (
        "# scitex: checkpoint epilogue (generated)\n"
        + _SILENCE
        + _TOOLS
        + _SEPARATORS
        + _GUARD
        + _refuse("", "false")
        + _JOBS
        + limits("b")
        + "__scx_w=\n"
        + item("limits", "resource limits")
        + _refuse("", "false")  # before any file is written (`ulimit -f 1`)
        + kept("b")
        + '[ "$__scx_rc" = 0 ] || '
        '__scx_w="$__scx_w, the exit status of its last command ($__scx_rc)"\n'
        + '[ -z "$__scx_jobs" ] || '
        '__scx_w="$__scx_w, background jobs still running (${__scx_jobs# })"\n'
        + '[ "$__scx_a_build" = "$__scx_b_build" ] || '
        '__scx_w="$__scx_w, apptainer\'s per-build variables (${__scx_b_build%:})"\n'
        + item("traps", "traps")
        + item("fds", "open fds")
        # the directory the piece is in, by identity: moved or replaced, its name now leads
        # elsewhere (a cold build's next command would run in the moved one)
        + '__scx_t=$(pwd); { [ "$__scx_t" -ef . ] && [ "${PWD-.}" -ef . ]; } || __scx_w="'
        "$__scx_w, the working directory (moved or replaced since it was entered: "
        '${PWD-$__scx_t} is another directory now)"\n'
        + _refuse("", '[ "$__scx_a_fds" = "$__scx_b_fds" ]')
        + handed("b", saving=True)
        + save()
        + quote("$__scx_b_aliases", "__scx_v")
        + f"printf '%s\\n' \"__scx_b_aliases=$__scx_v\" >>{STATE}\n"
        + f": >|{MARKER}\n"
    )


def wrap(text: str, index: int, count: int) -> str:
    """Piece ``index`` of ``count`` with its prologue and epilogue (unchanged when alone)."""
    if count < 2:
        return text
    body = text if text.endswith("\n") or not text else text + "\n"
    return prologue(index, count) + body + (epilogue() if index < count else "")


_LINE_RE = re.compile(rf"^{re.escape(TAG)}(.+)$", re.M)
_STATUS_RE = re.compile(rf"exit status {EXIT_CODE}\b")


def reported(output: str, nonce: str | None = None) -> str | None:
    """What changed, from a stage build's output (``""`` when the epilogue's exit status is
    there but its line is not: the piece redirected stderr); None: not ours.  With
    ``nonce`` (the build's :data:`NONCE_VAR`), only a line carrying it counts, and the exit
    status alone does not (a recipe's own ``exit 86``)."""
    found = _LINE_RE.findall(output)
    if nonce is not None:
        mark = f"[{nonce}] "
        ours = [line[len(mark) :] for line in found if line.startswith(mark)]
        return ours[-1].strip() if ours else None
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
    if what.startswith(HANDOVER):
        what = what.replace("__scx_drop", _DROPPED)
        return (
            "the %post before this checkpoint leaves shell state that the next piece's shell "
            f"does not take back as it was: {what[len(HANDOVER) :]}; set it only after the "
            "checkpoint, or move the checkpoint"
        )
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
            f"changes {what}, which {does} not reach the commands after it (they cannot be "
            "handed on): undo it before the checkpoint or set it only after it, or move the "
            "checkpoint"
        )
    return "the %post before this checkpoint " + "; and ".join(said)


def refused_at(what: str, checkpoint: int | None, first: int) -> int | None:
    """The line of the checkpoint a refusal :func:`reported` as ``what`` is about, for the
    stage of a ``%post`` piece whose first line is ``first`` and that ends at
    ``checkpoint`` (None: the last piece): the one before the piece when its prologue
    refused the hand-over, else the one after it."""
    if what.startswith(HANDOVER):
        return first - 1
    return checkpoint
