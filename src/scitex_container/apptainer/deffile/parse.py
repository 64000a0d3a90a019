"""Parsing def-file text into stages, by apptainer's own rules."""

from __future__ import annotations

import re
from collections.abc import Sequence

from scitex_container.apptainer.deffile.parts import (
    HeaderEntry,
    Section,
    Stage,
    files_entries,
)
from scitex_container.apptainer.deffile.text import (
    APP_SECTIONS,
    SECTION_RE,
    SECTIONS,
    STAGE_RE,
    content,
    split_lines,
)
from scitex_container.errors import DefFileError

# fmt: off
#: Header keywords apptainer accepts (lower case); ``OtherURL<N>`` is also accepted.
HEADER_KEYWORDS = frozenset({
    "bootstrap", "from", "includecmd", "mirrorurl", "updateurl", "osversion", "include",
    "library", "registry", "namespace", "stage", "product", "user", "regcode", "productpgp",
    "registerurl", "modules", "fingerprints", "confurl", "setopt",
    # not "target", "frontend", "filename", "buildargs": apptainer's main branch knows
    # them, but 1.4.5 refuses them ("invalid header keyword found: target")
})
#: Bootstrap agents apptainer knows. Other values are not rejected here.
BOOTSTRAP_AGENTS = frozenset({
    "library", "docker", "shub", "oras", "localimage", "yum", "dnf", "zypper", "debootstrap",
    "arch", "busybox", "scratch", "docker-daemon", "docker-archive", "oci", "oci-archive",
})
# fmt: on

_OTHERURL_RE = re.compile(r"otherurl\d+\Z")
_BROKEN_TEMPLATE_RE = re.compile(r"\{\{\s*\w+\s*(?:\}(?!\})|\Z)")
COMMENTED_RE = re.compile(r"#[^!]")  # apptainer skips a template after this on its line


def parse_stages(text: str, path: str) -> tuple[Stage, ...]:
    """The stages of def-file ``text``; ``path`` is used in errors."""
    lines = split_lines(text)
    starts = [i for i, raw in enumerate(lines) if STAGE_RE.match(raw)] or [0]
    starts[0] = 0  # blank lines and comments above the first Bootstrap belong to stage 0
    bounds = zip(starts, [*starts[1:], len(lines)], strict=False)
    stages = tuple(_parse_stage(path, lines, first, end) for first, end in bounds)
    check_stages(path, stages)
    return stages


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
    agent = header[0].value
    if agent not in BOOTSTRAP_AGENTS and agent.lower() in BOOTSTRAP_AGENTS:
        raise DefFileError(  # apptainer 1.4.5: "invalid build source LocalImage"
            f"`Bootstrap: {agent}` is not a build source apptainer knows; "
            f"write it in lower case: `{agent.lower()}`",
            path,
            header[0].line,
        )
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
        if not value:  # apptainer: `From: \` continues nothing; the next line is a new key
            break
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
    word = content(lines[i]).rstrip("\r\n").split(" ", 1)[0]
    if "\t" in word:  # apptainer 1.4.5: "invalid section(s) specified: files\tfrom\tone"
        raise DefFileError(
            f"a tab after `%{match.group(2)}`: apptainer reads the section name up to "
            "the first space and refuses this one; put a space after the name",
            path,
            i + 1,
        )
    if name in APP_SECTIONS and not args:
        raise DefFileError(f"`%{name}` needs an app name", path, i + 1)
    return Section(name, args, i + 1, lines[i], "".join(lines[i + 1 : j]))


def check_stages(path: str, stages: Sequence[Stage]) -> None:
    """Checks that need the whole file: %files lines and stages, %arguments, templates."""
    sections = [
        (index, section) for index, stage in enumerate(stages) for section in stage.sections
    ]
    for index, section in sections:
        if section.name in ("files", "appfiles"):
            for _ in files_entries(path, index, section):
                pass  # parsing each entry checks its quoting and field count
    for line, raw in enumerate(split_lines("".join(s.raw for s in stages)), 1):
        text = content(raw)
        match = _BROKEN_TEMPLATE_RE.search(text)
        if match and not COMMENTED_RE.search(text, 0, match.start()):
            raise DefFileError(f"unterminated template `{match.group(0).strip()}`", path, line)
