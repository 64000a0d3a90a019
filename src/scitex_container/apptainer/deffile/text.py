"""Line handling and text edits for :mod:`scitex_container.apptainer.deffile`.

Every edit here builds the new text from the parsed raw pieces. Lines
outside the edit are copied as they were, and new lines use the file's own
line ending (that of its first line).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from scitex_container.errors import BadInputError, DefFileError

if TYPE_CHECKING:
    from scitex_container.apptainer.deffile import DefFile, Section

# fmt: off
#: Sections that take no app name (``%pre`` is deprecated but still accepted).
SECTIONS = frozenset({
    "setup", "files", "post", "environment", "runscript", "startscript", "test", "labels",
    "help", "arguments", "pre",
})
#: SCIF app sections; each needs an app name: ``%appinstall foo``.
APP_SECTIONS = frozenset({
    "appinstall", "apprun", "applabels", "appenv", "appfiles", "apphelp", "apptest", "appstart",
})
# fmt: on

# Go's unicode.IsSpace, which apptainer uses to find a line's first word.
_WS = "\t\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
#: A line whose first word starts with ``%``: groups indent, name, args.
SECTION_RE = re.compile(rf"([{_WS}]*)%([^{_WS}]*)[{_WS}]*(.*?)[{_WS}]*\Z", re.DOTALL)
#: A line that starts a new stage (apptainer: ``(?mi)^bootstrap:``).
STAGE_RE = re.compile(r"bootstrap:", re.IGNORECASE)
#: A build-argument reference, ``{{ NAME }}``.
TEMPLATE_RE = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def render_template(
    text: str,
    values: Mapping[str, str],
    missing: Callable[[str], str] | None = None,
) -> str:
    """Substitute ``{{ NAME }}`` with ``values`` as apptainer does.

    A value's own ``{{ NAME }}`` references are substituted one level deep.
    A name without a value stays as written, unless ``missing(name)`` is
    given: then its return value is used (or the error it raises escapes).
    """

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            return match.group(0) if missing is None else missing(name)
        return TEMPLATE_RE.sub(lambda m: values.get(m.group(1), m.group(0)), values[name])

    return TEMPLATE_RE.sub(one, text)


def split_lines(text: str) -> list[str]:
    """Split on ``\\n`` only, keeping each line's ending; no empty last item."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def content(raw: str) -> str:
    """A raw line without its ending (``\\n``, and a ``\\r`` before it, as apptainer)."""
    raw = raw.removesuffix("\n")
    return raw.removesuffix("\r")


def split_fields(text: str) -> list[str]:
    """Split a ``%files`` line on blanks; quotes group, ``{{ NAME }}`` stays whole."""
    fields: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        parts: list[str] = []
        while i < n and not text[i].isspace():
            if text[i] in "\"'":
                close = text.find(text[i], i + 1)
                if close < 0:
                    raise BadInputError(f"unterminated {text[i]} quote")
                parts.append(text[i + 1 : close])
                i = close + 1
            elif (match := TEMPLATE_RE.match(text, i)) is not None:
                parts.append(match.group(0))
                i = match.end()
            else:
                parts.append(text[i])
                i += 1
        fields.append("".join(parts))
    return fields


def _ending(raw: str) -> str:
    return raw[len(content(raw)) :]


def _newline(deffile: DefFile) -> str:
    first = split_lines(deffile.emit())[0]
    return "\r\n" if first.endswith("\r\n") else "\n"


def markers(tag: str) -> tuple[str, str]:
    """The begin and end marker lines of a generated block."""
    if not tag.strip() or "\n" in tag or "\r" in tag:
        raise BadInputError(f"bad generated-block tag {tag!r}")
    return f"# >>> {tag} >>>", f"# <<< {tag} <<<"


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
    deffile: DefFile, stage: int, section: str, app: str | None, tag: str
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


def _replace(deffile: DefFile, old: Section, new_raw: str) -> str:
    return "".join(
        stage.raw_header + "".join(new_raw if s is old else s.raw for s in stage.sections)
        for stage in deffile.stages
    )


def set_block(
    deffile: DefFile,
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


def _append(deffile: DefFile, stage: int, header: str, body: list[str], nl: str) -> str:
    """Text with a new section added after the stage's last non-blank line."""
    parts = [s.raw for s in deffile.stages]
    rows = split_lines(parts[stage])
    parts[stage] = "".join(_with_lines(rows, _last_text_row(rows), ["", header, *body], nl))
    return "".join(parts)


def append_section(deffile: DefFile, stage: int, name: str, args: str, body: str) -> str:
    """Text of ``deffile`` with a new ``%name args`` section at the end of a stage."""
    name = name.lower().lstrip("%")
    args = args.strip()
    if "\n" in args or "\r" in args:
        raise BadInputError(f"section arguments {args!r} span lines")
    _check_target(name, args.split()[0] if name in APP_SECTIONS and args else None)
    header = f"%{name}" + (f" {args}" if args else "")
    return _append(deffile, stage, header, _body_lines(body, None), _newline(deffile))


def remove_block(deffile: DefFile, stage: int, section: str, app: str | None, tag: str) -> str:
    """Text of ``deffile`` without the generated block ``tag`` (unchanged if absent)."""
    _check_target(section, app)
    hit = _find(deffile, stage, section, app, tag)
    if hit is None:
        return deffile.emit()
    sec, k, m = hit
    rows = split_lines(sec.raw_body)
    return _replace(deffile, sec, sec.raw_header + "".join(rows[:k] + rows[m + 1 :]))


def generated_block(
    deffile: DefFile, stage: int, section: str, app: str | None, tag: str
) -> str | None:
    """The body of block ``tag`` (lines joined by ``\\n``, ending in one), or ``None``."""
    _check_target(section, app)
    hit = _find(deffile, stage, section, app, tag)
    if hit is None:
        return None
    sec, k, m = hit
    lines = [content(r) for r in split_lines(sec.raw_body)[k + 1 : m]]
    return "".join(line + "\n" for line in lines)


#: The first and last lines of the pip pin stanza the seed's ``generate_locked_def`` appended.
SEED_PINS_BEGIN = "# --- scitex-container: pinned pip versions (generated)"
SEED_PINS_END = "# --- end scitex-container pins"


def without_seed_pins(text: str, path: str = "<def>") -> str:
    """``text`` without the seed's generated pin stanza (and the blank line before it).

    The seed appended it to a locked def as its own ``%post``; re-pinning
    such a def replaces it, so its pins and ours never both install.  Text
    without the stanza is returned unchanged; a stanza that never ends is a
    :class:`~scitex_container.errors.DefFileError` naming its line.
    """
    lines = split_lines(text)
    starts = [i for i, ln in enumerate(lines) if content(ln).startswith(SEED_PINS_BEGIN)]
    if not starts:
        return text
    out = list(lines)
    for begin in reversed(starts):
        end = next(
            (j for j in range(begin + 1, len(out)) if content(out[j]).startswith(SEED_PINS_END)),
            None,
        )
        if end is None:
            raise DefFileError(
                f"the seed's pin stanza has no `{SEED_PINS_END}` line", path, begin + 1
            )
        first = begin - 1 if begin > 0 and not content(out[begin - 1]).strip() else begin
        del out[first : end + 1]
    return "".join(out)
