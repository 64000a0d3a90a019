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
from scitex_container.apptainer.deffile.sources import rebase_line
from scitex_container.apptainer.deffile.text import content, render_template, split_lines
from scitex_container.errors import BadInputError, DefFileError


def rebase_def(deffile: DefFile, src_dir: Path) -> tuple[DefFile, int]:
    """Relative host ``%files`` sources and ``localimage`` ``From:`` made absolute.

    Each source keeps its own spelling (globs, quotes, ``{{ NAME }}``); only
    ``src_dir`` is put in front, escaped for apptainer (:mod:`..deffile.sources`).
    A ``From:`` whose template default is absolute is left as written;
    apptainer reads ``$VAR`` in a ``localimage`` ``From:`` literally, so
    it is a relative path like any other.
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
        if stage.bootstrap.lower() != "localimage":
            continue
        for head in stage.header:
            value = render_template(head.value, stage.arguments)
            if head.name != "from" or not value or value.startswith("/") or "{{" in value:
                continue  # absolute, or a template whose value comes at build time
            raw = lines[head.line - 1]
            text = content(raw)
            key, _, rest = text.partition(":")
            pad = rest[: len(rest) - len(rest.lstrip())]
            lines[head.line - 1] = key + ":" + pad + f"{src_dir}/{rest.lstrip()}" + raw[len(text) :]
            changed += 1
    return parse_def_text("".join(lines), deffile.path), changed
