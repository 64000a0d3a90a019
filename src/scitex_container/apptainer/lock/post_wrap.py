"""Running the pins after the rough def's ``%post``, whatever that ``%post`` does.

Appending pins to the end of a ``%post`` loses them when the script ends in
``exit 0``, returns early from a function, or is not shell at all
(``%post -c /usr/bin/python3``).  So the locked def's final stage gets one
generated ``%post`` instead: it writes the rough ``%post`` (the bodies of
all of the stage's ``%post`` sections, concatenated, as apptainer does) to
``/.scitex-container-rough-post`` with a quoted heredoc, runs it exactly as
apptainer would run it (``/bin/sh -ex [args] SCRIPT``, or ``/bin/sh -ex -c
"INTERPRETER SCRIPT"`` for ``-c``; from ``/``), removes it, and then runs
the pin stanzas.  A failing rough ``%post`` still fails the build (the
wrapper runs under ``sh -e``).  The rough section's header line is kept in a
comment, so :func:`unwrap_post` gives the rough def back (byte for byte
when it had one ``%post``): regenerating a locked def never stacks.
"""

from __future__ import annotations

import re
import shlex

from scitex_container.apptainer.deffile import DefFile, parse_def_text
from scitex_container.apptainer.deffile.text import content, markers, split_lines

SCRIPT = "/.scitex-container-rough-post"
_HEADER_NOTE = "# scitex-container: the rough def's section header: "
_START_RE = re.compile(rf"cat > {re.escape(SCRIPT)} <<'(\w+)'\Z")


def run_argv(args: str, script: str = SCRIPT) -> list[str]:
    """How apptainer runs a ``%post`` with section arguments ``args``."""
    params = args.split("#")[0].split()
    if "-c" in params:
        i = params.index("-c")
        return ["/bin/sh", "-ex", *params[: i + 1], " ".join([*params[i + 1 :], script])]
    return ["/bin/sh", "-ex", *params, script]


def _newline(deffile: DefFile) -> str:
    first = split_lines(deffile.emit())[0]
    return "\r\n" if first.endswith("\r\n") else "\n"


def _tag(lines: list[str]) -> str:
    tag, n = "SCITEX_ROUGH_POST", 0
    while any(content(line).strip() == tag for line in lines):
        n += 1
        tag = f"SCITEX_ROUGH_POST_{n}"
    return tag


def _trailing_blank(rows: list[str]) -> tuple[list[str], list[str]]:
    k = len(rows)
    while k and not content(rows[k - 1]).strip():
        k -= 1
    return rows[:k], rows[k:]


def wrap_post(
    deffile: DefFile, tag: str, stanzas: list[str], prelude: tuple[str, ...] = ()
) -> DefFile:
    """``deffile`` whose final stage runs ``prelude``, its ``%post``, then ``stanzas``.

    The whole new ``%post`` body is the generated block ``tag``.  Raises
    ValueError for a stanza line that would open a section or a stage.
    """
    begin, end = markers(tag)
    nl = _newline(deffile)
    stage_index = len(deffile.stages) - 1
    posts = deffile.stages[stage_index].sections_named("post")
    block = [begin]
    if posts:
        rows: list[str] = []
        for sec in posts:
            rows += split_lines(sec.raw_body)
        body, _ = _trailing_blank(rows)
        args = next((s.args for s in reversed(posts) if s.args), "")
        tag = _tag(body)
        block += [
            _HEADER_NOTE + content(posts[0].raw_header),
            "# the rough %post runs first, as apptainer runs it; the pins after it",
            *prelude,
            f"cat > {SCRIPT} <<'{tag}'",
            *(content(r) for r in body),
            tag,
            f"chmod 0755 {SCRIPT}",
            "(cd / && " + shlex.join(run_argv(args)) + ")",
            f"rm -f {SCRIPT}",
        ]
    else:
        block += prelude
    block += [*stanzas, end]
    new_rows = [line + nl for line in block]
    if not posts:
        return deffile.set_generated_block(tag, "\n".join(block[1:-1]) + "\n")
    first = posts[0]
    _, blank = _trailing_blank(split_lines(posts[-1].raw_body))
    replaced: dict[int, str] = {id(first): "%post" + nl + "".join(new_rows) + "".join(blank)}
    for sec in posts[1:]:
        replaced[id(sec)] = ""
    return _rebuild(deffile, replaced)


def _rebuild(deffile: DefFile, replaced: dict[int, str]) -> DefFile:
    text = "".join(
        stage.raw_header + "".join(replaced.get(id(s), s.raw) for s in stage.sections)
        for stage in deffile.stages
    )
    return parse_def_text(text, deffile.path)


def unwrap_post(deffile: DefFile, tag: str) -> DefFile | None:
    """The rough def inside a wrapped locked def; ``None`` if the def is not wrapped."""
    begin, end = markers(tag)
    for sec in deffile.stages[-1].sections_named("post"):
        rows = split_lines(sec.raw_body)
        texts = [content(r) for r in rows]
        if begin not in texts or end not in texts:
            continue
        k = texts.index(begin)
        header = texts[k + 1].removeprefix(_HEADER_NOTE) if k + 1 < len(texts) else ""
        start = next((i for i in range(k, len(texts)) if _START_RE.match(texts[i])), None)
        if not texts[k + 1].startswith(_HEADER_NOTE) or start is None:
            return None
        match = _START_RE.match(texts[start])
        assert match is not None
        stop = texts.index(match.group(1), start + 1)
        m = texts.index(end, stop)
        nl = "\r\n" if rows[k].endswith("\r\n") else "\n"
        ending = sec.raw_header[len(content(sec.raw_header)) :] or nl
        new = header + ending + "".join(rows[start + 1 : stop]) + "".join(rows[m + 1 :])
        return _rebuild(deffile, {id(sec): new})
    return None
