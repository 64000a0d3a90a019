"""The one ``%files`` resolver: which host paths a def's ``%files`` lines copy.

Apptainer reads a ``%files`` line in three steps, and so does this module:

1. the def text has its ``{{ NAME }}`` templates rendered (build args over
   the stage's ``%arguments``) before anything is parsed;
2. the line is split by apptainer's field pattern: a ``"quoted"`` field ends
   at its closing quote, a ``'`` opens a field that runs to the next ``'``
   (exclusive), anything else runs to the next blank; the first field is the
   source, the second the destination, and double quotes at either end of
   each are trimmed;
3. the source is read as one shell word after every space was escaped:
   quotes and backslashes are removed, ``$VAR`` expands from the build's
   environment (apptainer's expansion reads the process environment; an
   unset name is empty), ``{a,b}`` braces expand, and ``*``, ``?``,
   ``[...]`` glob against the build's working directory (a pattern that
   matches nothing stays as written, and ``cp`` then fails); ``**`` is
   apptainer's ``*`` (no globstar: ``data/**/*.txt`` does not match
   ``data/a.txt``), and a leading unquoted ``~`` is ``$HOME``.

:func:`host_sources` gives every host source of a def in this sense; the
build inputs hash, the def checks, the artifact archive and the in-toto
statement (through the inputs hash) all read ``%files`` through it.
:func:`rebase_line` rewrites one ``%files`` line so that its relative source
means the same from another directory (``lock pin -o elsewhere``).
``${NAME:-word}`` and its kin are modelled (:func:`_value`); ``~user`` is
that user's home.  Not modelled: extended globs (``@(a|b)``) and command
substitution.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from scitex_container.apptainer.deffile.document import DefFile
from scitex_container.apptainer.deffile.parts import files_from
from scitex_container.apptainer.deffile.text import (
    FIELD_RE,
    TEMPLATE_RE,
    render_template,
    split_fields,
)
from scitex_container.errors import BadInputError, DefFileError

_VAR_RE = re.compile(r"\$(?:\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*|[0-9@*#?$!-])")
_GLOB = frozenset("*?[")
_SPLIT = ("", False)  #: a word break from an unquoted `$VAR`'s blank
#: The advice when a rewrite cannot keep a def's meaning: the way round it.
BESIDE = (
    "write the locked def beside the rough def "
    "(`lock pin -o` into its directory, or `repro --locked-def-beside`)"
)
#: Characters a path prefix must escape to stay literal in apptainer's shell word.
_SPECIAL = frozenset("\\'\"$`*?[]{}()|&;<>~#!")


@dataclass(frozen=True)
class HostSource:
    """One host ``%files`` source as apptainer reads it, and what it expands to."""

    stage: int
    line: int  #: the ``%files`` line, 1-based
    src: str  #: after template rendering and apptainer's quote trimming
    dst: str
    paths: tuple[Path, ...]  #: the host paths it copies (absolute; a glob: sorted matches)
    pattern: bool  #: the source globs
    matched: bool  #: every path exists (a glob matched something)


def split_line(text: str) -> tuple[str, str]:
    """``(src, dst)`` of one ``%files`` line (:func:`..text.split_fields`, the one splitter)."""
    fields = split_fields(text)
    return (fields[0] if fields else ""), (fields[1] if len(fields) > 1 else "")


_PARAM_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(:?[-=+])(.*)", re.S)


def _value(match: re.Match[str], env: Mapping[str, str]) -> str:
    """The value of one ``$NAME``/``${NAME}`` reference (``""`` when unset).

    ``${NAME:-word}``, ``${NAME-word}`` (and ``:=``/``=``, which assign
    the same value) give ``word`` when NAME is unset (or, with ``:``,
    empty); ``${NAME:+word}``/``${NAME+word}`` give ``word`` when it is
    set; ``$VAR`` inside ``word`` expands.  Other operators (``#``, ``%``,
    ``/``, ``:?``) are read as the bare name: the MCP check refuses them
    (:data:`OPERATOR_RE`).
    """
    name = match.group(0)[1:].removeprefix("{").removesuffix("}")
    param = _PARAM_RE.fullmatch(name) if match.group(0).startswith("${") else None
    if param is not None:
        var, op, word = param.groups()
        value = env.get(var)
        word = _VAR_RE.sub(lambda m: _value(m, env), word)
        unset = value is None or (op.startswith(":") and value == "")
        if op.endswith("+"):
            return "" if unset else word
        return word if unset else str(value)
    return env.get(re.split(r"[^A-Za-z0-9_]", name, maxsplit=1)[0] or name, "")


#: A ``${...}`` that is not a bare ``${NAME}``: an expansion operator.
OPERATOR_RE = re.compile(r"\$\{(?![A-Za-z_][A-Za-z0-9_]*\})")


def _words(src: str, env: Mapping[str, str]) -> list[tuple[str, bool]]:
    """``(text, quoted)`` pieces of the shell word ``src``; a variable's value is literal."""
    out: list[tuple[str, bool]] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c == "\\" and i + 1 < n:
            out.append((src[i + 1], True))
            i += 2
        elif c == "'":
            close = src.find("'", i + 1)
            if close < 0:
                raise BadInputError(f"unterminated ' quote in `{src}`")
            out.append((src[i + 1 : close], True))
            i = close + 1
        elif c == '"':
            j, buf = i + 1, []
            while j < n and src[j] != '"':
                if src[j] == "\\" and j + 1 < n and src[j + 1] in '$`"\\':
                    buf.append(src[j + 1])
                    j += 2
                elif (m := _VAR_RE.match(src, j)) is not None:
                    buf.append(_value(m, env))
                    j = m.end()
                else:
                    buf.append(src[j])
                    j += 1
            if j >= n:
                raise BadInputError(f'unterminated " quote in `{src}`')
            out.append(("".join(buf), True))
            i = j + 1
        elif (m := _VAR_RE.match(src, i)) is not None:
            # unquoted: the value is split on blanks and its glob characters glob
            out.extend(_SPLIT if c in " \t\n" else (c, c not in _GLOB) for c in _value(m, env))
            i = m.end()
        else:
            out.append((c, False))
            i += 1
    return out


def _braces(pieces: list[tuple[str, bool]]) -> list[list[tuple[str, bool]]]:
    """Expand the first unquoted ``{a,b}`` group (then the rest, recursively)."""
    depth, start = 0, -1
    for k, (text, quoted) in enumerate(pieces):
        if quoted:
            continue
        if text == "{":
            depth, start = (depth + 1, k if depth == 0 else start)
        elif text == "}" and depth:
            depth -= 1
            if depth == 0:
                inner, parts, level = pieces[start + 1 : k], [[]], 0  # type: ignore[var-annotated]
                for piece in inner:
                    if not piece[1] and piece[0] == "," and level == 0:
                        parts.append([])
                        continue
                    level += (piece == ("{", False)) - (piece == ("}", False))
                    parts[-1].append(piece)
                if len(parts) < 2:
                    continue
                head, tail = pieces[:start], pieces[k + 1 :]
                return [w for p in parts for w in _braces(head + p + tail)]
    return [pieces]


def _tilde(pieces: list[tuple[str, bool]], env: Mapping[str, str]) -> list[tuple[str, bool]]:
    """``~`` (``$HOME``) or ``~user`` (that user's home) at the start of a word, expanded."""
    end = next((k for k, (t, q) in enumerate(pieces) if q or t == "/"), len(pieces))
    if end < len(pieces) and pieces[end][1]:
        return pieces  # a quoted character in the prefix: no tilde expansion
    user = "".join(t for t, _ in pieces[1:end])
    if not user:
        return [(env.get("HOME", "~"), True), *pieces[1:]]
    import pwd

    try:
        home = pwd.getpwnam(user).pw_dir
    except KeyError:
        return pieces  # no such user: the shell keeps the word as written
    return [(home, True), *pieces[end:]]


def _pieces(src: str, env: Mapping[str, str] | None) -> list[list[tuple[str, bool]]]:
    """The brace-expanded words of ``src`` as apptainer parses it (spaces escaped first)."""
    env = os.environ if env is None else env
    pieces = _words(src.replace(" ", "\\ "), env)
    if pieces and pieces[0] == ("~", False):
        pieces = _tilde(pieces, env)  # the shell's tilde expansion
    words: list[list[tuple[str, bool]]] = []
    for word in _braces(pieces):
        parts: list[list[tuple[str, bool]]] = [[]]
        for piece in word:
            if piece == _SPLIT:
                parts.append([])
            else:
                parts[-1].append(piece)
        words.extend([p for p in parts if p] if len(parts) > 1 else parts)
    return words


def expand(
    src: str, base: str | os.PathLike[str], env: Mapping[str, str] | None = None
) -> tuple[list[str], bool]:
    """The paths the shell word ``src`` names, relative ones against ``base``; and if it globs.

    ``env`` (default: this process's environment, which the build inherits)
    gives ``$VAR`` its value.
    """
    words, globbed = [], False
    for pieces in _pieces(src, env):
        literal = "".join(t for t, _ in pieces)
        if not any(not q and t in _GLOB for t, q in pieces):
            words.append(literal)
            continue
        globbed = True
        pattern = "".join(t if not q else glob.escape(t) for t, q in pieces)
        hits = sorted(glob.glob(pattern, root_dir=base))  # no globstar, as apptainer
        words.extend(hits or [literal])
    return words, globbed


def host_sources(
    deffile: DefFile,
    *,
    base_dir: str | os.PathLike[str] | None = None,
    build_args: Mapping[str, str] | None = None,
    strict: bool = True,
) -> tuple[HostSource, ...]:
    """Every host ``%files``/``%appfiles`` source of ``deffile``, resolved as apptainer does.

    ``base_dir`` is the build's working directory (default: the def's
    directory, where ``build`` runs apptainer).  ``%files from <stage>``
    lines are not host files and are left out.  A ``{{ NAME }}`` without a
    value raises DefFileError (``file:line``) when ``strict``; otherwise
    that line is left out.  A bad quote is a DefFileError either way.
    """
    base = Path(base_dir) if base_dir is not None else Path(deffile.path).parent
    base = base.absolute()
    out: list[HostSource] = []
    for index, section in deffile.iter_sections():
        if (
            section.name not in ("files", "appfiles")
            or files_from(deffile.path, section) is not None
        ):
            continue
        values = {**deffile.stages[index].arguments, **(build_args or {})}
        for line, raw in section.body_lines():
            text = raw.strip()
            if not text or text.startswith("#"):
                continue
            unknown = [n for n in TEMPLATE_RE.findall(text) if n not in values]
            text = render_template(text, values)
            if unknown:
                if not strict:
                    continue
                raise DefFileError(
                    f"build argument `{unknown[0]}` has no value: give it a default in "
                    "%arguments or pass it as a build arg",
                    deffile.path,
                    line,
                )
            src, dst = split_line(text)
            if not src:
                continue
            try:
                words, globbed = expand(src, base)
            except BadInputError as exc:
                raise DefFileError(f"`%files` source: {exc}", deffile.path, line) from None
            paths = tuple(Path(w) if os.path.isabs(w) else base / w for w in words)
            # a link loop or a dangling link is as missing as no file (apptainer follows it)
            matched = bool(paths) and all(os.path.exists(p) for p in paths)
            out.append(HostSource(index, line, src, dst, paths, globbed, matched))
    return tuple(out)


def escape_prefix(directory: str) -> str:
    """``directory`` as literal text at the start of a ``%files`` source (spaces stay).

    A directory with a glob or brace character cannot be: apptainer 1.4
    expands ``*?[]{}`` in a source even behind a backslash, so the source
    would name other files.  Such a def is pinned beside itself instead.
    """
    if '"' in directory or "\n" in directory:
        raise BadInputError(f"directory {directory!r} cannot be written in a %files line")
    if any(c in directory for c in "*?[]{}"):
        raise BadInputError(
            f"its directory {directory!r} holds a glob or brace character, which apptainer "
            "expands in a %files source even when escaped; write the locked def beside "
            "the rough def (same directory) so its sources stay relative"
        )
    return "".join("\\" + c if c in _SPECIAL else c for c in directory)


def _implicit_dst(src: str, env: Mapping[str, str] | None) -> str:
    """A destination that copies ``src`` where apptainer puts a source written without one.

    Apptainer copies each path ``src`` expands to (at build time) to that
    same path under ``/``.  A literal source gets its own path; a glob whose
    pattern is only in its last component gets its directory (``data/*.csv``
    -> ``/data/``), so every file it matches at build time lands where it
    would have: the glob stays a glob.  A glob in a directory component, or
    braces naming several directories, has no single destination.
    """
    words = _pieces(src, env)
    globs = [not q and t in _GLOB for pieces in words for t, q in pieces]
    if len(words) == 1 and not any(globs):
        literal = "".join(t for t, _ in words[0])
        dst = "/" + os.path.normpath(literal).lstrip("/")
        return dst + "/" if literal.endswith("/") and dst != "/" else dst
    parents: set[str | None] = set()
    for pieces in words:
        cut = max((k for k, (t, q) in enumerate(pieces) if not q and t == "/"), default=-1)
        if any(not q and t in _GLOB for t, q in pieces[: cut + 1]):
            parents.add(None)  # a directory that globs: no one destination
        literal = "".join(t for t, _ in pieces)
        parents.add(os.path.dirname(os.path.normpath(literal)))
    parent = parents.pop() if len(parents) == 1 else None
    if parent is None:
        raise BadInputError(
            f"`%files` source `{src}` has no destination and can copy into several "
            "directories; give it one, or " + BESIDE + ""
        )
    return "/" + (parent.lstrip("/") + "/").lstrip("/")


def rebase_line(text: str, directory: str, values: Mapping[str, str]) -> str | None:
    """``text`` (one ``%files`` line) with a relative source made relative to ``directory``.

    ``None`` when the line has no source or its source is absolute (``/``,
    ``~``, a ``$VAR`` whose value is).  A template in the source, or a quote
    inside it (``"data"/a.txt``), is refused (BadInputError): no one rewrite
    keeps apptainer's meaning for every value.  The source keeps its own spelling (globs,
    quotes, templates); only the directory is put in front, escaped so
    apptainer reads it literally.  A source without a destination gets one
    that puts what it copies where apptainer would (:func:`_implicit_dst`).
    """
    body = text.lstrip()
    match = FIELD_RE.match(body)
    if not body or body.startswith("#") or match is None or match.start() != 0:
        return None
    token = match.group(0)
    if "{{" in body[: match.end()]:
        # apptainer pastes the value in before splitting: a quoted, absolute or relative
        # value each needs another rewrite, and a build arg can change it at build time
        raise BadInputError(
            "a `{{ NAME }}` template in a %files source cannot be made to mean the same "
            "from another directory; " + BESIDE + ""
        )
    if len(body) > len(token) and not body[len(token)].isspace():
        raise BadInputError(
            f"the source `{body.split()[0]}` has a quote inside it, which apptainer's "
            "%files splitter reads as a field of its own; rewriting it would change what "
            "is copied: " + BESIDE + ""
        )
    src, dst = split_line(render_template(body, values))
    if not src:
        return None
    if token.startswith("~"):
        return None  # the build's $HOME: absolute, as written
    if _SPLIT in _words(src.replace(" ", "\\ "), os.environ):
        raise BadInputError(
            f"the source `{src}` has an unquoted `$VAR` whose value is several words, "
            "each a source of its own to apptainer; a prefix would reach only the first: " + BESIDE
        )
    if any("".join(t for t, _ in pieces).startswith("/") for pieces in _pieces(src, None)):
        return None  # absolute, also when a `$VAR` at its start makes it so (`$HOME/x`)
    inner = token.strip('"')
    new = escape_prefix(directory.rstrip("/")) + "/" + inner
    if any(c in new for c in "\t\n\f\r ") or "{{" in new:
        new = '"' + new + '"'
    rest = body[len(token) :]
    if not dst:
        implicit = _implicit_dst(src, None)
        rest = " " + (f'"{implicit}"' if any(c.isspace() for c in implicit) else implicit) + rest
    indent = text[: len(text) - len(body)]
    return indent + new + rest
