"""A rough def made fit to be written in another directory: relative sources made absolute.

``lock pin`` (and ``repro``, which always writes the locked def elsewhere)
call :func:`rebase_def` when the locked def's directory is not the rough
def's: apptainer resolves relative ``%files`` sources and a relative
``localimage`` ``From:`` against the directory the build runs in.
"""

from __future__ import annotations

from pathlib import Path

from scitex_container.apptainer.deffile import DefFile, parse_def_text
from scitex_container.apptainer.deffile.parts import files_from
from scitex_container.apptainer.deffile.sources import BESIDE, rebase_line
from scitex_container.apptainer.deffile.text import content, render_template, split_lines
from scitex_container.errors import BadInputError, DefFileError


def rebase_def(deffile: DefFile, src_dir: Path) -> tuple[DefFile, int]:
    """Relative host ``%files`` sources and ``localimage`` ``From:`` made absolute.

    Each source keeps its own spelling (globs, quotes); only ``src_dir`` is
    put in front, escaped for apptainer (:mod:`..deffile.sources`).  What no
    rewrite keeps meaning the same for every value is refused (DefFileError,
    ``file:line``): a ``{{ NAME }}`` in a ``%files`` source or a
    ``localimage`` ``From:``, a quote inside a source, a ``#`` in the
    directory put before a ``From:``.  Apptainer reads ``$VAR`` in a
    ``localimage`` ``From:`` literally, so it is a relative path like any
    other.
    """
    lines = split_lines(deffile.emit())
    changed = 0
    for index, section in deffile.iter_sections():
        if (
            section.name not in ("files", "appfiles")
            or files_from(deffile.path, section) is not None
        ):
            continue
        values = deffile.stages[index].arguments
        for line, _ in section.body_lines():
            raw = lines[line - 1]
            text = content(raw)
            try:
                new = rebase_line(text, str(src_dir), values)
            except BadInputError as exc:
                raise DefFileError(exc.detail, deffile.path, line) from None
            if new is not None and new != text:
                lines[line - 1] = new + raw[len(text) :]
                changed += 1
    for stage in deffile.stages:
        if "{{" in stage.bootstrap:
            raise DefFileError(
                "a `{{ NAME }}` template in `Bootstrap:` cannot be rebased: whether `From:` "
                "names a local file depends on its value (a build arg may change it); " + BESIDE,
                deffile.path,
                stage.header[0].line,
            )
        if stage.bootstrap != "localimage":
            continue
        for head in stage.header:
            if head.name != "from":
                continue
            if "{{" in head.value:
                raise DefFileError(
                    "a `{{ NAME }}` template in a localimage `From:` cannot be made to mean "
                    "the same from another directory (a build arg may be relative or "
                    "absolute); " + BESIDE + "",
                    deffile.path,
                    head.line,
                )
            value = render_template(head.value, stage.arguments)
            if not value or value.startswith("/"):
                continue
            if "#" in str(src_dir):
                raise DefFileError(
                    f"the def's directory {src_dir} holds a `#`, which apptainer reads as a "
                    "comment in `From:`; " + BESIDE + "",
                    deffile.path,
                    head.line,
                )
            raw = lines[head.line - 1]
            text = content(raw)
            key, _, rest = text.partition(":")
            pad = rest[: len(rest) - len(rest.lstrip())]
            lines[head.line - 1] = key + ":" + pad + f"{src_dir}/{rest.lstrip()}" + raw[len(text) :]
            changed += 1
    return parse_def_text("".join(lines), deffile.path), changed
