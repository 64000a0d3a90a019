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

import glob
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from scitex_container.errors import DefFileError

from ._deftext import (
    APP_SECTIONS,
    SECTION_RE,
    SECTIONS,
    STAGE_RE,
    TEMPLATE_RE,
    append_section,
    content,
    generated_block,
    remove_block,
    set_block,
    split_fields,
    split_lines,
)

__all__ = [
    "APP_SECTIONS",
    "BOOTSTRAP_AGENTS",
    "HEADER_KEYWORDS",
    "SECTIONS",
    "DefFile",
    "FilesEntry",
    "HeaderEntry",
    "Section",
    "Stage",
    "TemplateRef",
    "parse_def",
    "parse_def_text",
    "validate_files",
]

# fmt: off
#: Header keywords apptainer accepts (lower case); ``OtherURL<N>`` is also accepted.
HEADER_KEYWORDS = frozenset({
    "bootstrap", "from", "includecmd", "mirrorurl", "updateurl", "osversion", "include",
    "library", "registry", "namespace", "stage", "product", "user", "regcode", "productpgp",
    "registerurl", "modules", "fingerprints", "confurl", "setopt",
})
#: Bootstrap agents apptainer knows. Other values are not rejected here.
BOOTSTRAP_AGENTS = frozenset({
    "library", "docker", "shub", "oras", "localimage", "yum", "dnf", "zypper", "debootstrap",
    "arch", "busybox", "scratch", "docker-daemon", "docker-archive", "oci", "oci-archive",
})
# fmt: on

_OTHERURL_RE = re.compile(r"otherurl\d+\Z")
_BROKEN_TEMPLATE_RE = re.compile(r"\{\{\s*\w+\s*(?:\}(?!\})|\Z)")
_COMMENTED_RE = re.compile(r"#[^!]")  # apptainer skips a template after this on its line
_GLOB_CHARS = frozenset("*?[")


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
                if text.strip() and not text.strip().startswith("#"):
                    key, _, value = text.partition("=")
                    out[key.strip()] = value.strip()
        return out


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
                    out.extend(_files_entries(self.path, index, section))
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
    ) -> DefFile:
        """Put ``body`` between ``# >>> tag >>>`` and ``# <<< tag <<<`` in a section.

        An existing block with this tag in the stage is replaced in place;
        otherwise the block goes after the last non-blank line of the stage's
        last ``section`` (created at the stage's end if there is none).
        Applying the same block twice gives the same text as applying it once.
        Markers sit in column 0 and ``body`` is written as given, with the
        file's own line ending. Raises ``ValueError`` for a body line that
        would open a section or stage, and :class:`DefFileError` if the tag's
        block is unterminated or appears twice in the stage.
        """
        index = self._stage_index(stage)
        new = set_block(self, index, section, app, tag, body)
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
                raise IndexError(f"{self.path}: no stage {which} ({len(self.stages)} stages)")
            return which % len(self.stages)
        for index, stage in enumerate(self.stages):
            if stage.name == which:
                return index
        raise KeyError(f"{self.path}: no stage named {which!r}")


# -- parsing -----------------------------------------------------------------


def parse_def(
    path: str | os.PathLike[str],
    *,
    check_files: bool = False,
    build_args: Mapping[str, str] | None = None,
) -> DefFile:
    """Read and parse the def file at ``path``.

    With ``check_files``, also run :func:`validate_files` on it.
    """
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise DefFileError(f"cannot read the def file: {exc.strerror}", os.fspath(path)) from exc
    deffile = parse_def_text(data.decode("utf-8", "surrogateescape"), os.fspath(path))
    if check_files:
        validate_files(deffile, build_args=build_args)
    return deffile


def parse_def_text(text: str, path: str = "<string>") -> DefFile:
    """Parse def-file text; ``path`` is used in errors and to find ``%files`` sources."""
    lines = split_lines(text)
    starts = [i for i, raw in enumerate(lines) if STAGE_RE.match(raw)] or [0]
    starts[0] = 0  # blank lines and comments above the first Bootstrap belong to stage 0
    bounds = zip(starts, starts[1:] + [len(lines)])
    stages = tuple(_parse_stage(path, lines, first, end) for first, end in bounds)
    deffile = DefFile(path, stages)
    _check(deffile)
    return deffile


def _parse_stage(path: str, lines: list[str], first: int, end: int) -> Stage:
    header: list[HeaderEntry] = []
    i = first
    while i < end and not SECTION_RE.match(content(lines[i])):
        i = _header_entry(path, lines, i, end, header)
    header_end = i
    if not header or header[0].name != "bootstrap":
        if header:
            raise DefFileError(
                f"no `Bootstrap:` header: the first keyword must be "
                f"`Bootstrap`, not `{header[0].key}`",
                path,
                header[0].line,
            )
        if i < end:
            first_word = content(lines[i]).split()[0]
            raise DefFileError(f"no `Bootstrap:` header before `{first_word}`", path, i + 1)
        raise DefFileError("no `Bootstrap:` header", path, 1)
    if not header[0].value:
        raise DefFileError("`Bootstrap:` has no value", path, header[0].line)
    for entry in header[1:]:
        if entry.name == "bootstrap":
            raise DefFileError(
                "a second `Bootstrap:` in one header; start each stage's `Bootstrap:` in column 0",
                path,
                entry.line,
            )
    sections: list[Section] = []
    while i < end:
        j = i + 1
        while j < end and not SECTION_RE.match(content(lines[j])):
            j += 1
        sections.append(_section(path, lines, i, j))
        i = j
    return Stage("".join(lines[first:header_end]), tuple(header), tuple(sections))


def _header_entry(path: str, lines: list[str], i: int, end: int, out: list[HeaderEntry]) -> int:
    """Parse the header line at ``i`` (and its continuations); return the next index."""
    text = content(lines[i]).strip()
    if not text or text.startswith("#"):
        return i + 1
    key, colon, value = text.split("#")[0].partition(":")
    key, value = key.strip(), value.strip()
    if not colon or not key:
        raise DefFileError(f"header line is not `Key: value`: {text!r}", path, i + 1)
    if key.lower() not in HEADER_KEYWORDS and not _OTHERURL_RE.match(key.lower()):
        raise DefFileError(f"unknown header keyword `{key}`", path, i + 1)
    start, i = i, i + 1
    while value.endswith("\\"):  # continued on the next line, as apptainer does it
        value = value[:-1]
        if value.endswith("\\n"):
            value = value[:-2] + "\n"
        nxt = content(lines[i]).strip() if i < end else ""
        if not nxt or nxt.startswith("#") or SECTION_RE.match(nxt):
            break
        value += nxt.split("#")[0].strip()
        i += 1
    out.append(HeaderEntry(key, value, start + 1))
    return i


def _section(path: str, lines: list[str], i: int, j: int) -> Section:
    match = SECTION_RE.match(content(lines[i]))
    assert match is not None
    indent, name, args = match.group(1), match.group(2).lower(), match.group(3)
    if indent:
        raise DefFileError(
            f"indented `%{match.group(2)}`: apptainer reads any line whose first word "
            "starts with `%` as a section header; move it to column 0 or reword it",
            path,
            i + 1,
        )
    if name not in SECTIONS and name not in APP_SECTIONS:
        raise DefFileError(f"unknown section `%{match.group(2)}`", path, i + 1)
    if name in APP_SECTIONS and not args:
        raise DefFileError(f"`%{name}` needs an app name", path, i + 1)
    return Section(name, args, i + 1, lines[i], "".join(lines[i + 1 : j]))


def _check(deffile: DefFile) -> None:
    """Checks that need the whole file: %files lines and stages, %arguments, templates."""
    path = deffile.path
    names = [s.name for s in deffile.stages]
    for index, section in deffile.iter_sections():
        if section.name in ("files", "appfiles"):
            from_stage = _files_from(path, section)
            if from_stage is not None and from_stage not in names[:index]:
                raise DefFileError(
                    f"`%files from {from_stage}`: no earlier stage has `Stage: {from_stage}`",
                    path,
                    section.line,
                )
            for _ in _files_entries(path, index, section):
                pass  # parsing each entry checks its quoting and field count
        elif section.name == "arguments":
            for line, text in section.body_lines():
                text = text.strip()
                name, equals, _ = text.partition("=")
                if text and not text.startswith("#") and not (equals and name.strip()):
                    raise DefFileError(
                        f"`%arguments` line is not `NAME=value`: {text!r}", path, line
                    )
    for line, raw in enumerate(split_lines(deffile.emit()), 1):
        text = content(raw)
        match = _BROKEN_TEMPLATE_RE.search(text)
        if match and not _COMMENTED_RE.search(text, 0, match.start()):
            raise DefFileError(f"unterminated template `{match.group(0).strip()}`", path, line)


def _files_from(path: str, section: Section) -> str | None:
    """The stage named by ``%files from <stage>``; ``None`` for host files."""
    words = section.args.split()
    if section.name != "files" or not words:
        return None
    if words[0].lower() != "from" or len(words) != 2:
        raise DefFileError(
            f"`%files {section.args}`: expected `%files` or `%files from <stage>`",
            path,
            section.line,
        )
    return words[1]


def _files_entries(path: str, index: int, section: Section) -> Iterator[FilesEntry]:
    from_stage = _files_from(path, section)
    for line, text in section.body_lines():
        text = text.strip()
        if not text or text.startswith("#"):
            continue
        try:
            fields = split_fields(text)
        except ValueError as exc:
            raise DefFileError(f"%{section.name} line: {exc}", path, line) from None
        if len(fields) > 2 and not fields[2].startswith("#"):
            raise DefFileError(
                f"%{section.name} line has {len(fields)} fields (`src [dest]`); "
                "quote paths that contain spaces",
                path,
                line,
            )
        dest = fields[1] if len(fields) > 1 else None
        yield FilesEntry(fields[0], dest, section.line, line, from_stage, index, section.app)


# -- %files sources on the host ------------------------------------------------


def validate_files(
    deffile: DefFile,
    *,
    base_dir: str | os.PathLike[str] | None = None,
    build_args: Mapping[str, str] | None = None,
) -> tuple[Path, ...]:
    """Check that every host ``%files``/``%appfiles`` source exists; return them.

    Relative sources are taken from ``base_dir`` (default: the def file's
    directory). A glob must match something. ``{{ NAME }}`` in a source takes
    its value from ``build_args``, else from the stage's ``%arguments``.
    ``%files from <stage>`` entries are not host files and are skipped.
    Returns the matched host paths, in entry order (glob matches sorted).
    """
    base = Path(base_dir) if base_dir is not None else Path(deffile.path).parent
    args = dict(build_args or {})
    found: list[Path] = []
    for entry in deffile.files_entries():
        if entry.from_stage is not None:
            continue
        src = _render(
            entry.src, {**deffile.stages[entry.stage].arguments, **args}, deffile.path, entry.line
        )
        full = Path(src) if os.path.isabs(src) else base / src
        if _GLOB_CHARS & set(src):
            matches = sorted(base / m for m in glob.glob(src, root_dir=base))
            if not matches:
                raise DefFileError(
                    f"`%files` source `{src}` matches nothing (in {base})", deffile.path, entry.line
                )
            found.extend(matches)
        elif os.path.lexists(full):
            found.append(full)
        else:
            raise DefFileError(
                f"`%files` source `{src}` does not exist (looked for {full})",
                deffile.path,
                entry.line,
            )
    return tuple(found)


def _render(text: str, values: Mapping[str, str], path: str, line: int) -> str:
    """Substitute ``{{ NAME }}`` as apptainer does (one level inside a value too)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise DefFileError(
                f"build argument `{name}` has no value: give it a default in %arguments "
                "or pass it as a build arg",
                path,
                line,
            )
        inner = TEMPLATE_RE.sub(lambda m: values.get(m.group(1), m.group(0)), values[name])
        return inner

    return TEMPLATE_RE.sub(value, text)
