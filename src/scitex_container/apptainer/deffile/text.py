"""Line handling and text edits for :mod:`scitex_container.apptainer.deffile`.

Every edit here builds the new text from the parsed raw pieces. Lines
outside the edit are copied as they were, and new lines use the file's own
line ending (that of its first line).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from scitex_container.errors import BadInputError, DefFileError

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


#: apptainer's ``fileSplitter`` (``pkg/build/types/parser/deffile.go``), Go's ``\\s`` spelled out.
_S = r"\t\n\f\r "
FIELD_RE = re.compile(
    rf"([^{_S}\"']*{{{{[{_S}]*\w+[{_S}]*}}}}*[^{_S}{{}}\"']*)+|([^{_S}\"']+|\"([^\"]*)\"|'([^']*))"
)


def split_fields(text: str) -> list[str]:
    """The fields of a ``%files`` line, split exactly as apptainer's parser splits them.

    The one ``%files`` splitter (the def checks and the source resolver both
    use it): apptainer's field pattern over the trimmed line; a ``"quoted"``
    field ends at its closing quote, a ``'`` opens a field that runs to the
    next ``'`` (exclusive), ``{{ NAME }}`` stays whole, anything else runs to
    the next blank; each field is trimmed of blanks and of ``"`` at its ends.
    """
    return [m.group(0).strip().strip('"') for m in FIELD_RE.finditer(text.strip())]


def markers(tag: str) -> tuple[str, str]:
    """The begin and end marker lines of a generated block."""
    if not tag.strip() or "\n" in tag or "\r" in tag:
        raise BadInputError(f"bad generated-block tag {tag!r}")
    return f"# >>> {tag} >>>", f"# <<< {tag} <<<"


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
