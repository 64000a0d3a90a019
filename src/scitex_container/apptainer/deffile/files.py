"""Def files on disk: reading one, and checking its ``%files`` sources on the host."""

from __future__ import annotations

import glob
import os
from collections.abc import Mapping
from pathlib import Path

from scitex_container.apptainer.deffile.document import DefFile, parse_def_text
from scitex_container.apptainer.deffile.text import render_template
from scitex_container.errors import DefFileError

_GLOB_CHARS = frozenset("*?[")


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
