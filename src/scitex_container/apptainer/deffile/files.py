"""Def files on disk: reading one, and checking its ``%files`` sources on the host."""

from __future__ import annotations

import glob
import os
from collections.abc import Mapping
from pathlib import Path

from scitex_container.apptainer.deffile.document import DefFile, parse_def_text
from scitex_container.apptainer.deffile.text import render_template
from scitex_container.errors import DefFileError
from scitex_container.files.pathinfo import from_oserror, regular_file

_GLOB_CHARS = frozenset("*?[")


#: The largest def file we read (bytes); a real one is a few kilobytes.
MAX_DEF_BYTES = 1 << 20
#: The most lines a def file may have (each may be a ``%files`` entry).
MAX_DEF_LINES = 5000


def read_def_text(path: str | os.PathLike[str]) -> str:
    """The text of the def file at ``path``, refused before reading when unbounded.

    A FIFO, device or directory is "not a regular file"; a file larger than
    :data:`MAX_DEF_BYTES` or longer than :data:`MAX_DEF_LINES` lines is
    refused naming ``file:line`` where the limit is crossed, so apptainer
    never reads it.
    """
    name = os.fspath(path)
    regular_file(name, "def file")  # a FIFO or /dev/zero is refused, not read
    try:
        with open(name, "rb") as fh:
            data = fh.read(MAX_DEF_BYTES + 1)
    except OSError as exc:
        raise from_oserror(exc, name) from None
    if len(data) > MAX_DEF_BYTES:
        line = data[:MAX_DEF_BYTES].count(b"\n") + 1
        raise DefFileError(
            f"def file larger than the limit of {MAX_DEF_BYTES} bytes",
            name,
            min(line, MAX_DEF_LINES + 1),
        )
    if data.count(b"\n") > MAX_DEF_LINES:
        raise DefFileError(
            f"def file longer than the limit of {MAX_DEF_LINES} lines", name, MAX_DEF_LINES + 1
        )
    return data.decode("utf-8", "surrogateescape")


def parse_def(
    path: str | os.PathLike[str],
    *,
    check_files: bool = False,
    build_args: Mapping[str, str] | None = None,
) -> DefFile:
    """Read and parse the def file at ``path``.

    With ``check_files``, also run :func:`validate_files` on it.
    """
    deffile = parse_def_text(read_def_text(path), os.fspath(path))
    if check_files:
        validate_files(deffile, build_args=build_args)
    return deffile


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
    def missing(name: str) -> str:
        raise DefFileError(
            f"build argument `{name}` has no value: give it a default in %arguments "
            "or pass it as a build arg",
            path,
            line,
        )

    return render_template(text, values, missing)
