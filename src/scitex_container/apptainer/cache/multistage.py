"""Multi-stage defs in the stage cache: every earlier ``Stage:`` is one entry.

An earlier stage is built on its own (``apptainer build --sandbox`` of that
stage's text alone) and cached whole.  The stage that makes the image is
split as a single-stage def is (:mod:`.stages`).  ``%files from <stage>``
cannot name a stage of another build, so it is rewritten to host ``%files``
whose sources are in the earlier stage's cached root fs: the text keeps a
placeholder (:func:`from_placeholder`) that :func:`fill` replaces with the
entry's path when the stage's def is written, so a stage's key never depends
on where the cache lives; the keys of the stages it copies from are in it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from scitex_container.apptainer.deffile.parts import Section, Stage, files_from
from scitex_container.apptainer.deffile.text import split_fields
from scitex_container.errors import UncacheableDef as Uncacheable

_PLACEHOLDER_RE = re.compile(r"@scitex-stage:([^@\s]+)@")


def from_placeholder(stage: str) -> str:
    return f"@scitex-stage:{stage}@"


def header_text(stage: Stage) -> str:
    """The header's input lines: no comment, no blank, no ``Stage:`` (the name is no input)."""
    return "".join(
        raw
        for raw in stage.raw_header.splitlines(keepends=True)
        if raw.strip()
        and not raw.strip().startswith("#")
        and not raw.strip().lower().startswith("stage:")
    )


#: Rewriting ``%files from X`` to a host ``%files`` copy of X's cached root fs is exact for
#: files only (apptainer's host copy follows links and makes directories anew), so a
#: def that copies from an earlier stage is built cold until the copy is done as a stage's.
REWRITE_FILES_FROM = False


def section_text(path: str, section: Section, names: tuple[str, ...]) -> str:
    """A section's text, ``%files from X`` rewritten to host ``%files`` on X's placeholder."""
    source = files_from(path, section)
    if source is None:
        return section.raw
    if source not in names:
        raise Uncacheable(f"`%files from {source}` (line {section.line}) names no earlier stage")
    if not REWRITE_FILES_FROM:
        raise Uncacheable(
            f"`%files from {source}` (line {section.line}): a host copy of the cached stage "
            "follows links and resets directory modes where apptainer's stage copy keeps them"
        )
    out = ["%files\n"]
    for _, text in section.body_lines():
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            out.append(text + "\n")
            continue
        fields = split_fields(stripped)
        if len(fields) > 2 or any(re.search(r"\s|@", f) for f in fields):
            raise Uncacheable(f"a `%files from {source}` line the cache cannot rewrite: {stripped}")
        src = fields[0]
        dest = fields[1] if len(fields) > 1 else src
        out.append(f"    {from_placeholder(source)}/{src.lstrip('/')} {dest}\n")
    return "".join(out)


def sources(text: str) -> tuple[str, ...]:
    """The stages whose root fs ``text`` copies from."""
    return tuple(sorted(set(_PLACEHOLDER_RE.findall(text))))


def fill(text: str, roots: Mapping[str, str]) -> str:
    """``text`` with each stage placeholder replaced by that stage's root fs path."""
    return _PLACEHOLDER_RE.sub(lambda m: roots[m.group(1)], text)
