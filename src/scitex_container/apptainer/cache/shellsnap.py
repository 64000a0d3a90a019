"""The shell lines that read, save and compare a ``%post`` shell's state at a checkpoint.

Building blocks of :mod:`.shellstate`: each function returns POSIX-sh text run in the
shell itself (dash, bash as ``sh`` or ``bash``, busybox ash).  A snapshot sets
``__scx_<p>_<item>`` to one line per item (the shell's own output lines joined by the
ASCII unit separator); :func:`save` writes what a shell can re-create into
:data:`STATE` in the shells' own re-input formats; :func:`clear` unsets what the next
piece's shell holds but the saved state does not.  Every value we generate ourselves
is single-quoted (:func:`quote`).
"""

from __future__ import annotations

#: The file an epilogue leaves for the next piece's prologue (never in the image).
MARKER = "/.scitex-checkpoint"
#: The state an epilogue hands on (next to the marker; removed with it).
STATE = "/.scitex-checkpoint.state"
SCRATCH = "/.scitex-checkpoint.scratch"

#: Variables the shell running a piece changes by itself: not compared (``PWD`` is
#: compared on its own, as the working directory), not handed on.
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
    "BASH_ARGV0",
    "BASH_ARGC",
    "BASH_ARGV",
    "BASHPID",
    "FUNCNAME",
    "PPID",
    "PWD",
)
#: bash's own variables (read-only, or special until unset): compared, never unset or set
#: by the hand-over (``SHELLOPTS``/``BASHOPTS`` follow the options and ``shopt``).
SHELL_OWNED = (
    "BASHOPTS",
    "SHELLOPTS",
    "EUID",
    "UID",
    "BASH_VERSINFO",
    "BASH_ALIASES",
    "BASH_CMDS",
    "DIRSTACK",
    "GROUPS",
    "HISTCMD",
    "COMP_WORDBREAKS",
)
#: What apptainer sets anew for each build (the host path of its temporary root fs): the
#: next piece keeps its own build's value; a piece that changes one is refused.
PER_BUILD = ("APPTAINER_CONTAINER", "SINGULARITY_CONTAINER")

# a line's name: `NAME=value` (set), `declare -x NAME=...`, `export NAME=...`, `readonly NAME`
# (each stripped only where the line begins with it: shells try every prefix length of a
# long value before finding that a `#word` does not match)
_NAME = (
    'case $__scx_l in "declare -"*) __scx_k=${__scx_l#declare -* } ;; *) __scx_k=$__scx_l ;; '
    'esac; case $__scx_k in "export "*) __scx_k=${__scx_k#export } ;; esac; '
    'case $__scx_k in "readonly "*) __scx_k=${__scx_k#readonly } ;; esac; '
)
_VALID = '__scx_n=${__scx_k%%=*}; case $__scx_n in ""|[0-9]*|*[!A-Za-z0-9_]*) __scx_n= ;; esac; '


def _names(*groups: tuple[str, ...]) -> str:
    names = [name for group in groups for name in group]
    return "|".join(["__scx_*", *(f"{name}|{name}=*" for name in names)])


_COMPARED = _names(SELF_CHANGING, PER_BUILD)
_UNTOUCHED = _names(SELF_CHANGING, SHELL_OWNED, PER_BUILD)


def quote(src: str, dst: str) -> str:
    """Shell lines setting ``dst`` to ``src`` (an expansion) single-quoted for re-input
    (needs ``__scx_sq`` holding one ``'``), in time linear in its length: a value with a
    ``'`` is split on them by a subshell (its ``set -f`` and ``IFS`` stay there) and
    printed back with each ``'`` as ``'\\''`` (a ``.`` after the value keeps a last empty
    part, removed after); not ``${v#*"'"}``, which the shells match from every prefix."""
    return (
        f"__scx_r={src}\n"
        'case $__scx_r in *"$__scx_sq"*) __scx_q=$(set -f; IFS=$__scx_sq; '
        r'printf "%s$__scx_sq\\\\$__scx_sq$__scx_sq" $__scx_r.); __scx_q=${__scx_q%.*} ;;'
        "\n  *) __scx_q=$__scx_r ;; esac\n"
        f"{dst}=$__scx_sq$__scx_q$__scx_sq\n"
    )


def capture(var: str, command: str, named: bool = False, emit: str | None = None) -> str:
    """Shell lines setting ``var`` to ``command``'s output lines, run in the shell itself
    (a subshell may not keep options, traps or jobs; none is forked to read them), each
    ended by the unit separator (``__scx_s``); ``named``: each line as ``NAME=line``
    (``=line``: no name), our own, self-changing and per-build names dropped.  ``emit``
    (a ``case`` pattern, may be empty): the lines also appended to :data:`STATE`, but
    those naming an untouched variable or matching ``emit``.  The lines are read by one
    subshell whose output is the value (appending to a variable line by line copied it
    whole each time: quadratic in a listing of many lines)."""
    keep = "printf '%s' \"$__scx_l$__scx_s\""
    if named:
        keep = (
            # (`__scx_drop=`: a later line of a value, in the next piece, see `emit`)
            f"case $__scx_k in __scx_drop=*) ;; {_COMPARED}) continue ;; esac; "
            # a later line of a multi-line value has no name (kept as `=line`)
            + "__scx_n=${__scx_k%%=*}; "
            + 'case $__scx_k in *=*) ;; *) [ "$__scx_k" != "$__scx_l" ] || __scx_n= ;; esac; '
            + 'case $__scx_n in ""|[0-9]*|*[!A-Za-z0-9_]*) __scx_n= ;; esac; '
            + "printf '%s' \"$__scx_n=$__scx_l$__scx_s\""
        )
    out = ""
    if emit is not None:
        keep = (
            # an untouched name's value goes to a variable of ours: should the line be a
            # later line of another value, the quoting still holds (and that value
            # differs, which the next piece refuses)
            f"case $__scx_k in {_UNTOUCHED}{emit}) case $__scx_l in *=*) "
            "printf '__scx_drop=%s\\n' \"${__scx_l#*=}\" >&3 ;; esac ;; "
            "*) printf '%s\\n' \"$__scx_l\" >&3 ;; esac; " + keep
        )
        out = f" 3>>{STATE}"
    if named or emit is not None:
        keep = _NAME + keep
    return (
        f"{command} >|{SCRATCH}\n"
        f"{var}=$(while IFS= read -r __scx_l; do {keep}; done <{SCRATCH}{out}; printf .)\n"
        f"{var}=${{{var}%.}}\n"
    )


def limits(p: str) -> str:
    """``__scx_<p>_limits``: read first, through a pipe (``ulimit -f 1`` would stop us
    writing the scratch file); hard limits too (lowering one is for good)."""
    return (
        f"__scx_{p}_limits=$({{ ulimit -a; ulimit -H -a 2>/dev/null; }} | "
        "while IFS= read -r __scx_l; do "
        "printf '%s\\037' \"$__scx_l\"; done)\n"
    )


def kept(p: str) -> str:
    """Shell lines setting ``__scx_<p>_*`` to the state that cannot be handed on (traps,
    the fd table, the per-build variables); the limits come from :func:`limits`."""
    build = "".join(f"${{{name}+{name}=}}${{{name}-}}:" for name in PER_BUILD)
    return (
        capture(f"__scx_{p}_traps", "trap")
        + f'__scx_{p}_build="{build}"\n'
        # the whole fd table, listed by a child (no command-substitution pipe of ours open
        # in the shell while it is read); the child's own redirection is its own fd
        + f"__scx_{p}_fds=\n"
        + "if [ -d /proc/$$/fd ]; then\n"
        + '  (set +f; for __scx_n in /proc/$$/fd/*; do __scx_t=$("$__scx_rl" $__scx_la "$__scx_n") '
        '&& printf \'%s>%s\\n\' "${__scx_n##*/}" "$__scx_t"; done) >|'
        + f"{SCRATCH} 2>&1 || :\n"
        + f"  while IFS= read -r __scx_l; do __scx_{p}_fds=$__scx_{p}_fds$__scx_l$__scx_s; "
        f"done <{SCRATCH}\n" + "fi\n" + scratch_gone()
    )


def scratch_gone() -> str:
    return f'"$__scx_rm" $__scx_ra -f {SCRATCH} || exit 127\n'


#: What :func:`handed` snapshots (and :func:`save` hands on), with its label.
HANDED = (
    ("pwd", "the working directory"),
    ("umask", "the umask"),
    ("args", "the positional parameters"),
    ("opts", "shell options"),
    ("shopt", "shopt options or disabled builtins"),
    ("funcs", "functions"),
    ("vars", "variables"),
    ("exports", "exported variables"),
    ("readonly", "readonly variables"),
)


def handed(p: str, saving: bool = False) -> str:
    """Shell lines setting ``__scx_<p>_*`` to the state a shell can re-create (each
    single-line); ``saving``: also writing :data:`STATE` from the same reads, then
    :func:`save`."""
    emit = "" if saving else None
    shopt = '|*login_shell|*restricted_shell|"shopt -u compat"*' if saving else None
    text = (
        f"__scx_{p}_pwd=$(pwd)\n"
        f"__scx_{p}_umask=$(umask)\n"
        f'__scx_{p}_args="$#:$*"\n'
        # xtrace and allexport as the piece had them ($- before our `set +x +a`)
        + capture(f"__scx_{p}_opts", "set +o").replace(
            "do ",
            'do case $__scx_l$__scx_x in "set +o xtracex") __scx_l="set -o xtrace" ;; esac; '
            'case $__scx_l$__scx_ax in "set +o allexporta") __scx_l="set -o allexport" ;; esac; ',
            1,
        )
    )
    if saving:
        # first the working directory (`cd` sets OLDPWD: unset, restored with the variables)
        text += f": >|{STATE}\n" + quote(f"$__scx_{p}_pwd", "__scx_v")
        text += f"printf 'cd -- %s || :\\nunset -v OLDPWD\\n' \"$__scx_v\" >>{STATE}\n"
    return (
        text
        + 'if [ -n "${BASH_VERSION-}" ]; then\n'
        # bash: attributes too (declare -l/-i/-a), and functions by name
        + capture(f"__scx_{p}_vars", "declare -p", named=True, emit=emit)
        + capture(f"__scx_{p}_exports", "export -p", named=True)
        + capture(f"__scx_{p}_readonly", "readonly -p", named=True)
        # disabled builtins too
        + capture(f"__scx_{p}_shopt", "{ shopt -p; enable -n; }", emit=shopt)
        # each function by name, attributes and the checksum of its body
        + capture(
            f"__scx_{p}_funcs",
            "{ declare -F | while IFS=' ' read -r _ __scx_fa __scx_f; do "
            "printf 'declare %s %s %s\\n' "
            '"$__scx_fa" "$__scx_f" "$(declare -f "$__scx_f" | cksum 2>/dev/null)"; done; }',
        )
        + "else\n"
        # the assignments, then the attributes (a readonly one is assigned no more)
        + capture(f"__scx_{p}_vars", "set", named=True, emit=emit)
        + capture(f"__scx_{p}_exports", "export -p", named=True, emit=emit)
        + capture(f"__scx_{p}_readonly", "readonly -p", named=True, emit=emit)
        + f"__scx_{p}_shopt= __scx_{p}_funcs=\n"
        + "fi\n"
        + scratch_gone()
    )


def save() -> str:
    """Shell lines ending :data:`STATE` (begun by :func:`handed` ``b`` with ``saving``:
    the working directory, the variables with their attributes, ``shopt``/``enable
    -n``): functions, the umask, the positional parameters, the options (last: ``set
    -u``/``-a`` apply after), and the snapshot ``__scx_b_*`` the next piece compares its
    own with."""
    text = 'if [ -n "${BASH_VERSION-}" ]; then\n'
    text += f"declare -f >>{STATE}\n"
    text += (
        "declare -F | while IFS=' ' read -r _ __scx_fa __scx_f; do case $__scx_fa in -f) ;; *) "
        f'printf \'declare %s %s\\n\' "$__scx_fa" "$__scx_f" ;; esac; done >>{STATE}\n'
    )
    text += "fi\n"
    text += f"printf 'umask %s\\n' \"$__scx_b_umask\" >>{STATE}\n"
    text += "__scx_p=set\\ --\n"
    text += 'for __scx_a in "$@"; do\n' + quote("$__scx_a", "__scx_v")
    text += '__scx_p="$__scx_p $__scx_v"; done\n'
    text += f"printf '%s\\n' \"$__scx_p\" >>{STATE}\n"
    text += (
        f"set +o >|{SCRATCH}\nwhile IFS= read -r __scx_l; do case $__scx_l in "
        '*" xtrace"|*" allexport") ;; *) printf \'%s\\n\' "$__scx_l" ;; esac; done '
        f"<{SCRATCH} >>{STATE}\n"
    )
    text += f'printf \'__scx_x=%s __scx_ax=%s\\n\' "$__scx_x" "$__scx_ax" >>{STATE}\n'
    for item, _ in HANDED:
        text += quote(f"$__scx_b_{item}", "__scx_v")
        text += f"printf '%s\\n' \"__scx_b_{item}=$__scx_v\" >>{STATE}\n"
    return text + scratch_gone()


def clear() -> str:
    """Shell lines unsetting every variable (and, under bash, function and disabled
    builtin) of this shell but the untouched and read-only ones: the saved state alone is
    then what the shell holds.  ``PATH`` is gone too: only builtins until it is restored;
    the scratch file stays (removed with the state file)."""
    read = (
        f"while IFS= read -r __scx_l; do {_NAME}{_VALID}"
        f'case $__scx_n in ""|{_UNTOUCHED}) continue ;; esac; '
    )
    return (
        "__scx_ro=$__scx_s\n"
        f"readonly -p >|{SCRATCH}\n"
        + read
        + f'__scx_ro="$__scx_ro$__scx_n$__scx_s"; done <{SCRATCH}\n'
        + 'if [ -n "${BASH_VERSION-}" ]; then\n'
        + f"  declare -F >|{SCRATCH}\n"
        + f'  while IFS=" " read -r _ _ __scx_f; do unset -f "$__scx_f"; done <{SCRATCH}\n'
        + f"  enable -n >|{SCRATCH}\n"
        + f'  while IFS=" " read -r _ _ __scx_f; do enable "$__scx_f"; done <{SCRATCH}\n'
        + f"  declare -p >|{SCRATCH}\nelse\n  set >|{SCRATCH}\nfi\n"
        + read
        + 'case $__scx_ro in *"$__scx_s$__scx_n$__scx_s"*) continue ;; esac; '
        # dash refuses an unset OPTIND (it is set again from the state)
        + f'[ "$__scx_n" = OPTIND ] || unset -v "$__scx_n"; done <{SCRATCH}\n'
    )


def diff(new: str, old: str, kind: str) -> str:
    """Shell lines appending to ``__scx_d`` the entries of ``new`` not in ``old`` (both
    variable names; ``kind`` ``names``: their names, both ways)."""
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


def item(what: str, label: str, kind: str = "lines", unnamed: str = "", was: str = "a") -> str:
    """Shell lines appending ``label`` (with what differs) to ``__scx_w`` when
    ``__scx_<was>_<what>`` and the next snapshot's differ (``a``->``b``, ``b``->``c``)."""
    old = f"__scx_{was}_{what}"
    new = f"__scx_{chr(ord(was) + 1)}_{what}"
    return (
        f'if [ "${old}" != "${new}" ]; then\n'
        "__scx_d=\n"
        + diff(new, old, kind)
        + f'if [ -n "$__scx_d" ]; then __scx_w="$__scx_w, {label} (${{__scx_d# }})"; '
        f'else __scx_w="$__scx_w, {unnamed or label}"; fi\n'
        "fi\n"
    )
