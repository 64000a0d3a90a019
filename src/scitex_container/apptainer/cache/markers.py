"""Checkpoint markers: where a recipe author lets a build cache ``%post``.

A checkpoint is a line of ``%post`` that is exactly the shell comment
``# scitex: checkpoint`` (any indentation).  Apptainer runs it as a comment;
the stage cache ends a ``%post`` stage there, and each stage runs only its
own piece of ``%post``.  That is faithful only when the shell would be
between two complete commands at the marker, so a marker is accepted only
if every piece of ``%post`` it bounds is a complete shell program on its
own: ``bash -n`` and ``sh -n`` (the shell apptainer runs ``%post`` with)
both parse it without error *and without warning* (an unterminated
here-document is only a warning; a piece ending in ``&&``, ``||`` or ``|``
is an unexpected end of file), and the line before the marker does not
continue onto it with a backslash (which the shells confirm: the piece
followed by a line ``;`` parses only when that line joins the last one).
No hand-written scanner: the shells themselves decide.  Otherwise the marker is refused (a
:class:`~scitex_container.errors.DefFileError` naming file:line), as it is
outside ``%post``.
"""

from __future__ import annotations

import os
import re

from scitex_container.apptainer.deffile.document import DefFile
from scitex_container.errors import DefFileError
from scitex_container.process import runner

#: The marker line (the whole line, whitespace aside).
MARKER_RE = re.compile(r"[ \t]*#[ \t]*scitex:[ \t]*checkpoint[ \t]*\Z")
#: The shells a piece must satisfy (apptainer runs %post with /bin/sh; authors think bash).
SHELLS = ("bash", "sh")
#: The interpreters (``%post -c``, by basename) whose state the checkpoint check reads
#: (:mod:`.shellstate`); ksh, mksh, zsh keep state it cannot read the same way.
POSIX_SHELLS = frozenset({"sh", "bash", "dash", "ash", "busybox"})
_SENTINEL = "\n)\n"
# an odd number of backslashes at the end of the line (the shells confirm it continues)
_BACKSLASH_RE = re.compile(r"(?<!\\)(?:\\\\)*\\\Z")


def interpreter(args: str) -> str | None:
    """The interpreter of ``%post -c <interpreter>`` (None: apptainer's ``/bin/sh``);
    ``-c /usr/bin/env bash``: the program env runs."""
    words = args.split("#")[0].split()
    if "-c" not in words[:-1]:
        return None
    rest = words[words.index("-c") + 1 :]
    if os.path.basename(rest[0]) == "env":
        named = [w for w in rest[1:] if not w.startswith("-") and "=" not in w]
        return named[0] if named else rest[0]
    return rest[0]


def is_marker(text: str) -> bool:
    return MARKER_RE.match(text) is not None


def shell_problem(program: str, shells: tuple[str, ...] = SHELLS) -> str | None:
    """Why ``program`` is not a complete shell program for every one of ``shells``
    (None when it is)."""
    for shell in shells:
        done = runner.run([shell, "-n"], input=program, check=False, readonly=True)
        said = (done.stderr or "").strip()
        if done.returncode != 0 or said:
            return said.splitlines()[-1] if said else f"{shell} -n exit {done.returncode}"
        # dash parses an unterminated here-document silently: a line that is a syntax error
        # anywhere else is swallowed by one, so it must be refused
        sentinel = runner.run([shell, "-n"], input=program + _SENTINEL, check=False, readonly=True)
        if sentinel.returncode == 0:
            return f"{shell}: here-document delimited by end-of-file"
    return None


def _why(problem: str) -> str:
    if "here-document" in problem:
        return "inside a here-document"
    return "inside a shell block, quoted string, substitution or continued line that spans it"


def _continued(piece: str, shells: tuple[str, ...]) -> bool:
    """Does the last line of ``piece`` (a complete program) continue onto the next line?"""
    last = piece[:-1].rsplit("\n", 1)[-1]  # a blank line after it ends the command
    if _BACKSLASH_RE.search(last) is None:
        return False
    # `;` alone is a syntax error; joined to a complete command it ends it
    return shell_problem(piece + ";\n", shells[:1]) is None


def checkpoint_lines(deffile: DefFile) -> tuple[int, ...]:
    """Line numbers of the checkpoints in ``%post``; refuses a marker that cannot act."""
    found: list[int] = []
    for _, section in deffile.iter_sections():
        lines = section.body_lines()
        marks = [i for i, (_, text) in enumerate(lines) if is_marker(text)]
        if not marks:
            continue
        if section.name != "post":
            raise DefFileError(
                f"checkpoint marker in `%{section.name}`: checkpoints act only in %post",
                deffile.path,
                lines[marks[0]][0],
            )
        shell = interpreter(section.args)
        if shell is not None and os.path.basename(shell) not in POSIX_SHELLS:
            raise DefFileError(
                f"checkpoint marker in a `%post -c {shell}`: checkpoints are supported under "
                "sh, bash, dash and busybox sh",
                deffile.path,
                lines[marks[0]][0],
            )
        # the shells that parse the whole %post (a bash-only %post on a base whose sh is bash)
        whole = "\n".join(t for _, t in lines) + "\n"
        shells = tuple(s for s in SHELLS if shell_problem(whole, (s,)) is None)
        if not shells:
            raise DefFileError(
                "checkpoint marker in a %post that is not a complete shell program "
                f"({shell_problem(whole)})",
                deffile.path,
                lines[marks[0]][0],
            )
        bounds = [-1, *marks, len(lines)]
        for piece in range(len(bounds) - 1):
            text = "\n".join(t for _, t in lines[bounds[piece] + 1 : bounds[piece + 1]]) + "\n"
            problem = shell_problem(text, shells)
            if problem is not None:
                # the piece ends at a marker that cuts it, else it begins at one
                at = bounds[piece + 1] if piece + 1 < len(bounds) - 1 else bounds[piece]
                raise DefFileError(
                    f"checkpoint marker {_why(problem)} ({problem})", deffile.path, lines[at][0]
                )
            if piece + 1 < len(bounds) - 1 and _continued(text, shells):
                raise DefFileError(
                    "checkpoint marker after a line continued with `\\`",
                    deffile.path,
                    lines[bounds[piece + 1]][0],
                )
        found.extend(lines[at][0] for at in marks)
    _header_markers(deffile)
    return tuple(found)


def _header_markers(deffile: DefFile) -> None:
    line = 1
    for stage in deffile.stages:
        for raw in stage.raw_header.splitlines():
            if is_marker(raw):
                raise DefFileError(
                    "checkpoint marker in a header: checkpoints act only in %post",
                    deffile.path,
                    line,
                )
            line += 1
        line += sum(s.raw.count("\n") for s in stage.sections)
