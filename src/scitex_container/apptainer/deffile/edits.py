"""Text edits of a parsed def: generated blocks and new sections.

Every edit builds the new text from the parsed raw pieces.  Lines outside
the edit are copied as they were, and new lines use the file's own line
ending (that of its first line).  The document is typed by what the edits
read (:class:`_Document`), so this module sits below
:mod:`.document` (which calls it) with no import of it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from scitex_container.apptainer.deffile.parts import Section, Stage
from scitex_container.apptainer.deffile.text import (
    APP_SECTIONS,
    SECTION_RE,
    SECTIONS,
    STAGE_RE,
    content,
    markers,
    split_lines,
)
from scitex_container.errors import BadInputError, DefFileError


class _Document(Protocol):
    """What the edits read of a :class:`~.document.DefFile`."""

    @property
    def path(self) -> str: ...

    @property
    def stages(self) -> Sequence[Stage]: ...

    def emit(self) -> str: ...


def _ending(raw: str) -> str:
    return raw[len(content(raw)) :]


def _newline(deffile: _Document) -> str:
    first = split_lines(deffile.emit())[0]
    return "\r\n" if first.endswith("\r\n") else "\n"


def _body_lines(body: str, tag: str | None) -> list[str]:
    """``body`` as lines, refusing any line that would change the file's structure."""
    lines = [line.removesuffix("\r") for line in body.split("\n")]
    if lines[-1] == "":
        lines.pop()
    reserved = markers(tag) if tag is not None else ()
    for line in lines:
        if SECTION_RE.match(line):
            raise BadInputError(f"body line {line!r} would start a section (first word `%...`)")
        if STAGE_RE.match(line):
            raise BadInputError(f"body line {line!r} would start a new stage")
        if line.strip() in reserved:
            raise BadInputError(f"body line {line!r} is a marker of block {tag!r}")
    return lines


def _check_target(section: str, app: str | None) -> None:
    if section in APP_SECTIONS:
        if not app or app.split() != [app]:
            raise BadInputError(f"`%{section}` needs an app name (one word)")
    elif section in SECTIONS:
        if app is not None:
            raise BadInputError(f"`%{section}` takes no app name")
    else:
        raise BadInputError(f"unknown section `%{section}`")


def _find(
    deffile: _Document, stage: int, section: str, app: str | None, tag: str
) -> tuple[Section, int, int] | None:
    """The block with ``tag``: (section, begin row, end row) in its body rows."""
    begin, end = markers(tag)
    found: list[tuple[Section, int, int]] = []
    for sec in deffile.stages[stage].sections_named(section, app):
        rows = [content(r).strip() for r in split_lines(sec.raw_body)]
        k = 0
        while k < len(rows):
            if rows[k] == begin:
                if end not in rows[k + 1 :]:
                    raise DefFileError(
                        f"generated block `{begin}` has no `{end}`", deffile.path, sec.line + 1 + k
                    )
                m = rows.index(end, k + 1)
                found.append((sec, k, m))
                k = m
            k += 1
    if len(found) > 1:
        sec, k, _ = found[1]
        raise DefFileError(
            f"generated block `{begin}` appears {len(found)} times", deffile.path, sec.line + 1 + k
        )
    return found[0] if found else None


def _with_lines(rows: list[str], after: int, new: list[str], nl: str) -> list[str]:
    """Insert ``new`` lines after ``rows[after]`` (``-1``: at the start).

    If ``rows[after]`` is the file's last line and has no line ending, it gets
    one, and the last new line goes without, so the file still ends the same way.
    """
    rows = list(rows)
    last = nl
    if after >= 0 and not _ending(rows[after]):
        rows[after] += nl
        last = ""
    added = [line + nl for line in new[:-1]] + [new[-1] + last]
    return rows[: after + 1] + added + rows[after + 1 :]


def _last_text_row(rows: list[str]) -> int:
    """Index of the last row that is not blank (``-1`` if none)."""
    for k in range(len(rows) - 1, -1, -1):
        if content(rows[k]).strip():
            return k
    return -1


def _replace(deffile: _Document, old: Section, new_raw: str) -> str:
    return "".join(
        stage.raw_header + "".join(new_raw if s is old else s.raw for s in stage.sections)
        for stage in deffile.stages
    )


def set_block(
    deffile: _Document,
    stage: int,
    section: str,
    app: str | None,
    tag: str,
    body: str,
    *,
    first: bool = False,
) -> str:
    """Text of ``deffile`` with the generated block ``tag`` set to ``body``."""
    _check_target(section, app)
    begin, end = markers(tag)
    block = [begin, *_body_lines(body, tag), end]
    nl = _newline(deffile)
    hit = _find(deffile, stage, section, app, tag)
    if hit is not None:
        sec, k, m = hit
        rows = split_lines(sec.raw_body)
        added = [line + nl for line in block[:-1]] + [block[-1] + _ending(rows[m])]
        return _replace(deffile, sec, sec.raw_header + "".join(rows[:k] + added + rows[m + 1 :]))
    targets = deffile.stages[stage].sections_named(section, app)
    if targets:
        sec = targets[0] if first else targets[-1]
        rows = [sec.raw_header, *split_lines(sec.raw_body)]
        rows = _with_lines(rows, 0 if first else max(_last_text_row(rows), 0), block, nl)
        return _replace(deffile, sec, "".join(rows))
    return _append(deffile, stage, f"%{section}" + (f" {app}" if app else ""), block, nl)


def _append(deffile: _Document, stage: int, header: str, body: list[str], nl: str) -> str:
    """Text with a new section added after the stage's last non-blank line."""
    parts = [s.raw for s in deffile.stages]
    rows = split_lines(parts[stage])
    parts[stage] = "".join(_with_lines(rows, _last_text_row(rows), ["", header, *body], nl))
    return "".join(parts)


def append_section(deffile: _Document, stage: int, name: str, args: str, body: str) -> str:
    """Text of ``deffile`` with a new ``%name args`` section at the end of a stage."""
    name = name.lower().lstrip("%")
    args = args.strip()
    if "\n" in args or "\r" in args:
        raise BadInputError(f"section arguments {args!r} span lines")
    _check_target(name, args.split()[0] if name in APP_SECTIONS and args else None)
    header = f"%{name}" + (f" {args}" if args else "")
    return _append(deffile, stage, header, _body_lines(body, None), _newline(deffile))


def remove_block(deffile: _Document, stage: int, section: str, app: str | None, tag: str) -> str:
    """Text of ``deffile`` without the generated block ``tag`` (unchanged if absent)."""
    _check_target(section, app)
    hit = _find(deffile, stage, section, app, tag)
    if hit is None:
        return deffile.emit()
    sec, k, m = hit
    rows = split_lines(sec.raw_body)
    return _replace(deffile, sec, sec.raw_header + "".join(rows[:k] + rows[m + 1 :]))


def generated_block(
    deffile: _Document, stage: int, section: str, app: str | None, tag: str
) -> str | None:
    """The body of block ``tag`` (lines joined by ``\\n``, ending in one), or ``None``."""
    _check_target(section, app)
    hit = _find(deffile, stage, section, app, tag)
    if hit is None:
        return None
    sec, k, m = hit
    lines = [content(r) for r in split_lines(sec.raw_body)[k + 1 : m]]
    return "".join(line + "\n" for line in lines)
