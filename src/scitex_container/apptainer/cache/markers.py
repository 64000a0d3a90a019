"""Checkpoint markers: where a recipe author lets a build cache ``%post``.

A checkpoint is a line of ``%post`` that is exactly the shell comment
``# scitex: checkpoint`` (any indentation).  Apptainer runs it as a comment;
the stage cache ends a ``%post`` stage there.  A marker can only act where
the shell would be between two commands, so it is refused (a
:class:`~scitex_container.errors.DefFileError` naming file:line) outside
``%post``, inside a here-document, a quoted string, a continued line, or a
shell block (``if``/``case``/loops, ``{ }``, ``( )``) that spans it.

The shell scan is deliberately simple and errs towards refusing: it tracks
quotes, here-documents, line continuations and block keywords word by word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from scitex_container.apptainer.deffile.document import DefFile
from scitex_container.errors import DefFileError

#: The marker line (the whole line, whitespace aside).
MARKER_RE = re.compile(r"[ \t]*#[ \t]*scitex:[ \t]*checkpoint[ \t]*\Z")
_HEREDOC_RE = re.compile(r"<<(?!<)(-?)[ \t]*(['\"]?)([A-Za-z_][\w]*)\2")
_OPENERS = {"if": "fi", "case": "esac", "for": "done", "while": "done", "until": "done"}
_CLOSERS = {"fi", "esac", "done"}
_SELECT = "select"


@dataclass
class _Shell:
    """What is open at the end of a line."""

    quote: str = ""  #: ' or " when a string spans lines
    heredoc: str = ""  #: the terminator word of an open here-document
    strip_tabs: bool = False
    continued: bool = False
    depth: int = 0  #: open blocks: if/case/loops, { }, ( )
    cases: int = 0  #: open ``case`` blocks (their patterns end in a lone ``)``)
    pending_heredocs: list[tuple[str, bool]] | None = None

    def where(self) -> str | None:
        """Why a marker cannot act here (None when it can)."""
        if self.heredoc:
            return f"inside a here-document (ends at `{self.heredoc}`)"
        if self.quote:
            return "inside a quoted string that spans lines"
        if self.continued:
            return "after a line continued with `\\`"
        if self.depth > 0:
            return "inside a shell block that spans it"
        return None

    def feed(self, text: str) -> None:
        if self.heredoc:
            end = text.lstrip("\t") if self.strip_tabs else text
            if end == self.heredoc:
                self.heredoc, self.strip_tabs = "", False
                self._next_heredoc()
            return
        self.continued = False
        word = ""
        i = 0
        while i < len(text):
            ch = text[i]
            if self.quote:
                if ch == "\\" and self.quote == '"':
                    i += 2
                    continue
                if ch == self.quote:
                    self.quote = ""
                i += 1
                continue
            if ch in "'\"":
                self.quote = ch
            elif ch == "\\":
                if i == len(text) - 1:
                    self.continued = True
                i += 2
                continue
            elif ch == "#" and not word:
                break  # a comment to the end of the line
            elif ch == "<" and (m := _HEREDOC_RE.match(text, i)):
                self.pending_heredocs = [
                    *(self.pending_heredocs or []),
                    (m.group(3), bool(m.group(1))),
                ]
                i = m.end()
                continue
            elif ch in "({" and not self.cases:
                self.depth += 1 if ch == "(" or _word_start(text, i) else 0
            elif ch in ")}" and not self.cases:
                self.depth -= 1 if ch == ")" or _word_start(text, i) else 0
            if ch.isspace() or ch in ";&|()":
                self._word(word)
                word = ""
            else:
                word += ch
            i += 1
        self._word(word)
        self._next_heredoc()

    def _word(self, word: str) -> None:
        if word in _OPENERS or word == _SELECT:
            self.depth += 1
            self.cases += word == "case"
        elif word in _CLOSERS:
            self.depth -= 1
            self.cases -= word == "esac" and self.cases > 0

    def _next_heredoc(self) -> None:
        if self.pending_heredocs:
            (self.heredoc, self.strip_tabs), *rest = self.pending_heredocs
            self.pending_heredocs = rest


def _word_start(text: str, i: int) -> bool:
    """``{``/``}`` is a shell keyword only as a word of its own."""
    before = text[i - 1] if i > 0 else " "
    after = text[i + 1] if i + 1 < len(text) else " "
    return (before.isspace() or before in ";&|") and (after.isspace() or after in ";&|")


def is_marker(text: str) -> bool:
    return MARKER_RE.match(text) is not None


def checkpoint_lines(deffile: DefFile) -> tuple[int, ...]:
    """Line numbers of the checkpoints in ``%post``; refuses a marker that cannot act."""
    found: list[int] = []
    for _, section in deffile.iter_sections():
        if section.name != "post":
            for line, text in section.body_lines():
                if is_marker(text):
                    raise DefFileError(
                        f"checkpoint marker in `%{section.name}`: checkpoints act only in %post",
                        deffile.path,
                        line,
                    )
            continue
        shell = _Shell()
        for line, text in section.body_lines():
            if is_marker(text):
                why = shell.where()
                if why is not None:
                    raise DefFileError(f"checkpoint marker {why}", deffile.path, line)
                found.append(line)
                continue
            shell.feed(text)
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
