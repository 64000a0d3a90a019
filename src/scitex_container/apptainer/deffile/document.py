"""Apptainer definition files: parse, inspect, edit, and emit them byte for byte.

A def file is a list of *stages*. Each stage starts at a column-0 ``Bootstrap:``
line and holds a header (``Key: value`` lines) and then sections (``%post``,
``%files from build``, ``%appinstall foo``, ...). The model keeps the raw
text of every line, line ending included, so ``parse_def_text(t).emit() == t``
for any ``t`` that parses. The edits (:meth:`DefFile.set_generated_block`,
:meth:`DefFile.with_section_appended`) return a new :class:`DefFile` and leave
every byte outside the edit unchanged.

The parser follows apptainer's own rules (``pkg/build/types/parser``):

* Lines end at ``\\n``, and a ``\\r`` just before it is dropped.
* A new stage starts at each line that begins with ``bootstrap:`` in column 0
  (any case). Anything above the first one must be blank lines or comments.
* A line whose first word starts with ``%`` opens a section, whether it is
  indented or not. Apptainer rejects an indented one, and so does this parser.
* Header keys are case-insensitive, ``#`` starts a comment, and a value that
  ends in ``\\`` carries on onto the next line.

Errors are :class:`~scitex_container.errors.DefFileError` with ``file:line``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from scitex_container.apptainer.deffile.edits import (
    append_section,
    generated_block,
    remove_block,
    set_block,
)
from scitex_container.apptainer.deffile.parse import parse_stages
from scitex_container.apptainer.deffile.parts import (
    FilesEntry,
    HeaderEntry,
    Section,
    Stage,
    TemplateRef,
    files_entries,
)
from scitex_container.apptainer.deffile.text import TEMPLATE_RE, content, split_lines
from scitex_container.errors import NoSuchStageError

_COMMENTED_RE = re.compile(r"#[^!]")  # apptainer skips a template after this on its line


@dataclass(frozen=True)
class DefFile:
    """A parsed definition file. Compare, copy and hash it like a value."""

    path: str
    stages: tuple[Stage, ...]

    # -- reading ---------------------------------------------------------
    def emit(self) -> str:
        """The file's text; exactly the parsed text when nothing was edited."""
        return "".join(s.raw for s in self.stages)

    text = emit

    def to_bytes(self) -> bytes:
        """The file's bytes (UTF-8; undecodable input bytes come back as they were)."""
        return self.emit().encode("utf-8", "surrogateescape")

    @property
    def header(self) -> tuple[HeaderEntry, ...]:
        """The first stage's header."""
        return self.stages[0].header

    @property
    def sections(self) -> tuple[Section, ...]:
        """The first stage's sections."""
        return self.stages[0].sections

    @property
    def bootstrap(self) -> str:
        """The first stage's bootstrap agent."""
        return self.stages[0].bootstrap

    @property
    def from_(self) -> str | None:
        """The first stage's ``From:``."""
        return self.stages[0].from_

    def get(self, key: str, default: str | None = None) -> str | None:
        """A header value of the first stage."""
        return self.stages[0].get(key, default)

    def stage(self, which: int | str = -1) -> Stage:
        """A stage by index or by ``Stage:`` name."""
        return self.stages[self._stage_index(which)]

    @property
    def arguments(self) -> dict[str, str]:
        """All ``%arguments`` defaults, read in file order (a later one wins).

        Apptainer applies each stage's own defaults to that stage; see
        :attr:`Stage.arguments` for those.
        """
        out: dict[str, str] = {}
        for stage in self.stages:
            out.update(stage.arguments)
        return out

    def labels(self, stage: int | str = -1) -> dict[str, str]:
        """``%labels`` of a stage, by default the last (the one that makes the image)."""
        out: dict[str, str] = {}
        for section in self.stage(stage).sections_named("labels"):
            for _, text in section.body_lines():
                text = text.strip()
                if text and not text.startswith("#"):
                    key, _, value = text.replace("\t", " ").partition(" ")
                    out[key] = value.strip()
        return out

    def files_entries(self) -> list[FilesEntry]:
        """Every ``%files`` / ``%appfiles`` entry of every stage, in file order."""
        out: list[FilesEntry] = []
        for index, stage in enumerate(self.stages):
            for section in stage.sections:
                if section.name in ("files", "appfiles"):
                    out.extend(files_entries(self.path, index, section))
        return out

    def templates(self) -> list[TemplateRef]:
        """Every ``{{ NAME }}`` that apptainer would substitute, in file order."""
        out: list[TemplateRef] = []
        line = 1
        for index, stage in enumerate(self.stages):
            for raw in split_lines(stage.raw):
                text = content(raw)
                for match in TEMPLATE_RE.finditer(text):
                    if not _COMMENTED_RE.search(text, 0, match.start()):
                        out.append(TemplateRef(match.group(1), line, index))
                line += 1
        return out

    def iter_sections(self) -> Iterator[tuple[int, Section]]:
        """``(stage index, section)`` for every section of every stage."""
        for index, stage in enumerate(self.stages):
            for section in stage.sections:
                yield index, section

    # -- editing (each returns a new DefFile) ------------------------------
    def set_generated_block(
        self,
        tag: str,
        body: str,
        *,
        section: str = "post",
        app: str | None = None,
        stage: int | str = -1,
        first: bool = False,
    ) -> DefFile:
        """Put ``body`` between ``# >>> tag >>>`` and ``# <<< tag <<<`` in a section.

        An existing block with this tag in the stage is replaced in place;
        otherwise the block goes after the last non-blank line of the stage's
        last ``section`` (``first``: right after the stage's first such
        section's ``%name`` line), or in a new section at the stage's end.
        Applying the same block twice gives the same text as applying it once.
        Markers sit in column 0 and ``body`` is written as given, with the
        file's own line ending. Raises ``ValueError`` for a body line that
        would open a section or stage, and :class:`DefFileError` if the tag's
        block is unterminated or appears twice in the stage.
        """
        index = self._stage_index(stage)
        new = set_block(self, index, section, app, tag, body, first=first)
        return parse_def_text(new, self.path)

    def generated_block(
        self, tag: str, *, section: str = "post", app: str | None = None, stage: int | str = -1
    ) -> str | None:
        """The body of the block with ``tag``, or ``None`` if there is none."""
        return generated_block(self, self._stage_index(stage), section, app, tag)

    def remove_generated_block(
        self, tag: str, *, section: str = "post", app: str | None = None, stage: int | str = -1
    ) -> DefFile:
        """Drop the block with ``tag`` (markers included); no change if it is absent."""
        new = remove_block(self, self._stage_index(stage), section, app, tag)
        return parse_def_text(new, self.path)

    def with_section_appended(
        self, name: str, body: str, *, args: str = "", stage: int | str = -1
    ) -> DefFile:
        """Add a new ``%name args`` section with ``body`` at the end of a stage."""
        new = append_section(self, self._stage_index(stage), name, args, body)
        return parse_def_text(new, self.path)

    def _stage_index(self, which: int | str) -> int:
        if isinstance(which, int):
            if not -len(self.stages) <= which < len(self.stages):
                raise NoSuchStageError(f"no stage {which} ({len(self.stages)} stages)", self.path)
            return which % len(self.stages)
        for index, stage in enumerate(self.stages):
            if stage.name == which:
                return index
        raise NoSuchStageError(f"no stage named {which!r}", self.path)


# -- parsing -----------------------------------------------------------------


def parse_def_text(text: str, path: str = "<string>") -> DefFile:
    """Parse def-file text; ``path`` is used in errors and to find ``%files`` sources."""
    return DefFile(path, parse_stages(text, path))
