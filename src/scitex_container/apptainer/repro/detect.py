"""What a rough def's own install commands say about where packages come from.

The pin stanzas of a locked def must find the pinned versions in
the same places the rough def found its packages.  This module reads the
shell of the final stage's ``%post`` (and the ``Include:`` header) and
reports, without running anything:

* the pip command the def used and the source options of its ``pip install``
  calls (``--no-index``, ``--find-links``, ``--index-url``,
  ``--extra-index-url``, ``--trusted-host``, ``--cert``);
* the apt packages the def names explicitly (``Include:`` and
  ``apt-get install`` / ``apt install`` / ``aptitude install`` arguments);
* the directories of local npm tarballs installed with ``npm install -g``
  and the source options of those calls (``--offline``, ``--registry``).

It is a reader of common idioms, not a shell interpreter: commands built at
run time (``eval``, loops over variables) are not seen; callers can pass
pip options explicitly instead.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass

from scitex_container.apptainer.deffile import DefFile

#: Generated-block tag of the pin stanzas (its markers are ``# >>> tag >>>``).
PIN_BLOCK_TAG = "scitex-container pins"

_PIP_RE = re.compile(r"pip[0-9.]*\Z")
_PYTHON_RE = re.compile(r"python[0-9.]*\Z")
_ASSIGN_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_WRAPPERS = {"sudo", "env", "command", "exec", "nice", "time"}
_SEPARATORS = {"&&", "||", ";", "|", "&", ";;", "(", ")", "{", "}", "\n"}
# pip source options: canonical name -> whether it takes a value
_PIP_SOURCE_OPTS = {
    "--no-index": False,
    "--find-links": True,
    "--index-url": True,
    "--extra-index-url": True,
    "--trusted-host": True,
    "--cert": True,
}
_PIP_ALIASES = {"-f": "--find-links", "-i": "--index-url"}
_NPM_FLAGS = ("--offline", "--prefer-offline")
_NPM_VALUE_OPTS = ("--registry", "--cache")
_APT_VALUE_OPTS = {"-o", "--option", "-t", "--target-release", "-c", "--config-file"}


@dataclass(frozen=True)
class PipUsage:
    """How the rough def called pip."""

    commands: tuple[str, ...]  #: the pip commands as written (``pip3``, ``python3 -m pip``)
    options: tuple[str, ...]  #: source options to reuse, as shell words
    installs: int  #: number of ``pip install`` calls seen


@dataclass(frozen=True)
class DefUsage:
    """Everything the pin generator reuses from the rough def."""

    pip: PipUsage
    apt_explicit: tuple[str, ...]  #: package names the def asks apt for, sorted
    npm_tarball_dirs: tuple[str, ...]  #: directories of ``npm install -g <dir>/<x>.tgz``
    npm_options: tuple[
        str, ...
    ] = ()  #: source options of those calls (``--offline``, ``--registry``)


def _shell_words(text: str) -> list[str]:
    """Tokens of shell text; separators (``&&``, ``;``, newlines ...) as their own tokens."""
    text = re.sub(r"\\\r?\n", " ", text)  # line continuations
    words: list[str] = []
    for line in text.split("\n"):
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|()")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        try:
            for word in lexer:
                words.append(word)
        except ValueError:  # unbalanced quotes (a string spanning lines): skip the rest
            pass
        words.append("\n")
    return words


def _commands(text: str) -> Iterator[list[str]]:
    """Simple commands (word lists) of shell text, env assignments and wrappers removed."""
    current: list[str] = []
    for word in [*_shell_words(text), "\n"]:
        if word in _SEPARATORS or set(word) <= set(";&|()\n"):
            if current:
                yield current
            current = []
            continue
        current.append(word)


def _strip_prefix(words: list[str]) -> list[str]:
    i = 0
    while i < len(words) and (_ASSIGN_RE.match(words[i]) or words[i] in _WRAPPERS):
        if words[i] == "env":  # env -i / env -u NAME
            i += 1
            while i < len(words) and words[i].startswith("-"):
                i += 2 if words[i] in ("-u", "--unset") else 1
            continue
        i += 1
    return words[i:]


def shell_word(word: str) -> str:
    """Quote a word for sh, keeping ``$VAR`` references live (double quotes)."""
    if "$" in word or "`" in word:
        if re.fullmatch(r"[A-Za-z0-9_./:=@%+,${}-]+", word):
            return word
        return '"' + re.sub(r'(["\\])', r"\\\1", word) + '"'
    return shlex.quote(word)


def _pip_call(words: list[str]) -> tuple[str, list[str]] | None:
    """``(pip command as written, arguments after install)`` or None."""
    if not words:
        return None
    base = posixpath.basename(words[0])
    if _PIP_RE.match(base) and len(words) > 1:
        rest = words[1:]
        while rest and rest[0].startswith("-") and rest[0] != "install":
            rest = rest[1:]  # global options like --disable-pip-version-check
        if rest and rest[0] == "install":
            return words[0], rest[1:]
    if _PYTHON_RE.match(base):
        for k in range(1, len(words) - 2):
            if words[k] == "-m" and words[k + 1] == "pip":
                rest = words[k + 2 :]
                if rest and rest[0] == "install":
                    return " ".join(words[: k + 2]), rest[1:]
                return None
    return None


def _pip_options(args: list[str]) -> tuple[bool, list[tuple[str, str | None]]]:
    no_index = False
    found: list[tuple[str, str | None]] = []
    i = 0
    while i < len(args):
        arg = args[i]
        name, eq, value = arg.partition("=")
        if (
            arg.startswith("-")
            and not arg.startswith("--")
            and len(arg) > 2
            and arg[:2] in _PIP_ALIASES
        ):
            name, value, eq = arg[:2], arg[2:], "="  # -f/dir
        name = _PIP_ALIASES.get(name, name)
        if name in _PIP_SOURCE_OPTS:
            if name == "--no-index":
                no_index = True
            elif eq:
                found.append((name, value))
            elif i + 1 < len(args):
                found.append((name, args[i + 1]))
                i += 1
        i += 1
    return no_index, found


def _pip_usage(text: str) -> PipUsage:
    commands: list[str] = []
    options: list[tuple[str, str | None]] = []
    all_no_index = True
    installs = 0
    for words in _commands(text):
        call = _pip_call(_strip_prefix(words))
        if call is None:
            continue
        installs += 1
        command, args = call
        if command not in commands:
            commands.append(command)
        no_index, found = _pip_options(args)
        all_no_index = all_no_index and no_index
        for item in found:
            if item not in options:
                options.append(item)
    # --no-index only when every install used it: otherwise an index served
    # some packages, and every location must stay open to find each pin.
    all_no_index = installs > 0 and all_no_index
    out: list[str] = ["--no-index"] if all_no_index else []
    for name, value in options:
        if name == "--index-url" and all_no_index:
            continue
        out += [name, shell_word(value or "")]
    return PipUsage(tuple(commands), tuple(out), installs)


def _apt_packages(text: str) -> list[str]:
    names: list[str] = []
    for words in _commands(text):
        words = _strip_prefix(words)
        if not words:
            continue
        tool = posixpath.basename(words[0])
        if tool not in ("apt-get", "apt", "aptitude"):
            continue
        args = words[1:]
        skip = False
        sub = None
        for arg in args:
            if skip:
                skip = False
                continue
            if arg in _APT_VALUE_OPTS:
                skip = True
                continue
            if arg.startswith("-"):
                continue
            if sub is None:
                sub = arg
                if sub != "install":
                    break
                continue
            name = _apt_name(arg)
            if name and name not in names:
                names.append(name)
    return names


def _apt_name(spec: str) -> str | None:
    """Package name of an ``apt-get install`` argument (None for files, globs, variables)."""
    if "/" in spec and (spec.endswith(".deb") or spec.startswith((".", "/"))):
        return None
    if any(c in spec for c in "$*?[]{}`\"'") or spec.endswith("-"):
        return None  # variables, globs, and `pkg-` (a removal)
    name = re.split(r"[=/]", spec, maxsplit=1)[0].removesuffix("+")
    return name if re.fullmatch(r"[a-z0-9][a-z0-9+.-]*(:[a-z0-9-]+)?", name) else None


def _npm_usage(text: str) -> tuple[list[str], list[str]]:
    """Tarball directories and source options of the ``npm install -g`` calls."""
    dirs: list[str] = []
    options: list[str] = []
    for words in _commands(text):
        words = _strip_prefix(words)
        if len(words) < 3 or posixpath.basename(words[0]) != "npm":
            continue
        if words[1] not in ("install", "i", "add", "isntall", "in"):
            continue
        if not ({"-g", "--global"} & set(words[2:]) or "--location=global" in words):
            continue
        args = words[2:]
        for k, arg in enumerate(args):
            name, eq, value = arg.partition("=")
            if arg in _NPM_FLAGS and arg not in options:
                options.append(arg)
            elif name in _NPM_VALUE_OPTS:
                value = value if eq else (args[k + 1] if k + 1 < len(args) else "")
                option = f"{name}={shell_word(value)}"
                if value and option not in options:
                    options.append(option)
            elif not arg.startswith("-") and arg.endswith((".tgz", ".tar.gz")) and "/" in arg:
                directory = posixpath.dirname(arg) or "."
                if directory not in dirs:
                    dirs.append(directory)
    return dirs, options


def analyse_def(deffile: DefFile) -> DefUsage:
    """Read pip, apt and npm usage from the final stage of ``deffile``.

    The pin block itself (if the def already holds one) is ignored.
    """
    from scitex_container.apptainer.lock.post_wrap import unwrap_post

    clean = unwrap_post(deffile, PIN_BLOCK_TAG) or deffile.remove_generated_block(PIN_BLOCK_TAG)
    stage = clean.stage(-1)
    post = "".join(s.raw_body for s in stage.sections_named("post"))
    include = []
    for index, st in enumerate(clean.stages):
        value = st.get("include")
        if value and index == len(clean.stages) - 1:
            include = [w for w in re.split(r"[\s,]+", value) if w]
    apt = [n for n in (_apt_name(w) for w in include) if n]
    for name in _apt_packages(post):
        if name not in apt:
            apt.append(name)
    npm_dirs, npm_options = _npm_usage(post)
    return DefUsage(
        pip=_pip_usage(post),
        apt_explicit=tuple(sorted(set(apt))),
        npm_tarball_dirs=tuple(npm_dirs),
        npm_options=tuple(npm_options),
    )
