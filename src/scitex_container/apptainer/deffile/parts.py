"""The parts of a def file: stages, header entries, sections, %files entries."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from scitex_container.apptainer.deffile.text import APP_SECTIONS, content, split_fields, split_lines
from scitex_container.errors import DefFileError


@dataclass(frozen=True)
class HeaderEntry:
    """One ``Key: value`` header line (or several, joined by ``\\``)."""

    key: str  #: the key as written, e.g. ``OSVersion``
    value: str  #: the value, trimmed, with any ``# comment`` removed
    line: int  #: 1-based line of the key

    @property
    def name(self) -> str:
        """The key in lower case, as apptainer compares it."""
        return self.key.lower()


@dataclass(frozen=True)
class Section:
    """One section: its ``%name args`` line and the body lines up to the next one."""

    name: str  #: lower case, without ``%``: ``post``, ``appinstall``
    args: str  #: the rest of the ``%name`` line, trimmed: ``-c /bin/bash``, ``foo``
    line: int  #: 1-based line of the ``%name`` line
    raw_header: str  #: the ``%name`` line, with its line ending
    raw_body: str  #: the body lines, with their line endings

    @property
    def app(self) -> str | None:
        """The app name of an ``%app*`` section, else ``None``."""
        return self.args.split()[0] if self.name in APP_SECTIONS else None

    @property
    def raw(self) -> str:
        """The section's exact text."""
        return self.raw_header + self.raw_body

    def body_lines(self) -> list[tuple[int, str]]:
        """``(line number, text)`` for each body line, without line endings."""
        return [(self.line + 1 + i, content(r)) for i, r in enumerate(split_lines(self.raw_body))]


@dataclass(frozen=True)
class FilesEntry:
    """One ``src [dest]`` line of a ``%files`` or ``%appfiles`` section."""

    src: str
    dest: str | None  #: ``None`` when only the source is given (copied to the same path)
    section_line: int  #: line of the ``%files`` line
    line: int  #: line of this entry
    from_stage: str | None  #: the stage named by ``%files from <stage>``; ``None`` for host files
    stage: int  #: index of the stage holding the section
    app: str | None = None  #: the app of an ``%appfiles`` section


@dataclass(frozen=True)
class TemplateRef:
    """One ``{{ NAME }}`` build-argument reference."""

    name: str
    line: int
    stage: int


@dataclass(frozen=True)
class Stage:
    """One build stage: its header and its sections, in file order."""

    raw_header: str  #: the header's exact text (for stage 0, with any leading comments)
    header: tuple[HeaderEntry, ...]
    sections: tuple[Section, ...]

    @property
    def line(self) -> int:
        """Line of this stage's ``Bootstrap:`` keyword."""
        return self.header[0].line

    @property
    def raw(self) -> str:
        """The stage's exact text."""
        return self.raw_header + "".join(s.raw for s in self.sections)

    def get(self, key: str, default: str | None = None) -> str | None:
        """The value of header ``key`` (any case); the last one wins, as in apptainer."""
        values = [e.value for e in self.header if e.name == key.lower()]
        return values[-1] if values else default

    @property
    def bootstrap(self) -> str:
        """The bootstrap agent, e.g. ``docker``."""
        return self.header[0].value

    @property
    def from_(self) -> str | None:
        """The ``From:`` value, if any."""
        return self.get("from")

    @property
    def name(self) -> str | None:
        """The ``Stage:`` name, if any."""
        return self.get("stage")

    def sections_named(self, name: str, app: str | None = None) -> list[Section]:
        """This stage's sections called ``name`` (and for ``app``, if given), in order."""
        return [s for s in self.sections if s.name == name and (app is None or s.app == app)]

    @property
    def arguments(self) -> dict[str, str]:
        """``%arguments`` defaults of this stage; a later line wins."""
        out: dict[str, str] = {}
        for section in self.sections_named("arguments"):
            for _, text in section.body_lines():
                key, equals, value = text.partition("=")
                if equals and key.strip() and not text.strip().startswith("#"):
                    out[key.strip()] = value.strip()  # apptainer skips a line without `=`
        return out


def files_from(path: str, section: Section) -> str | None:
    """The stage a ``%files`` section copies from; ``None`` for host files.

    As apptainer's build reads it: the arguments up to a ``#`` are split on
    blanks; none means host files, two (``from <stage>``) name the stage.
    Any other count makes apptainer skip the section: ``""`` is returned
    (the def checks refuse it; the parser, like apptainer's, does not).
    """
    words = section.args.split("#")[0].split()
    if section.name != "files" or not words:
        return None
    return words[1] if len(words) == 2 else ""


def files_entries(path: str, index: int, section: Section) -> Iterator[FilesEntry]:
    from_stage = files_from(path, section)
    for line, text in section.body_lines():
        text = text.strip()
        if not text or text.startswith("#"):
            continue
        fields = split_fields(text)
        if not fields:  # apptainer's parser indexes the first field and crashes
            raise DefFileError(f"%{section.name} line has no source field", path, line)
        dest = fields[1] if len(fields) > 1 else None
        yield FilesEntry(fields[0], dest, section.line, line, from_stage, index, section.app)
