"""Def files on disk: reading one, and checking its ``%files`` sources on the host."""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from scitex_container.apptainer.deffile.document import DefFile, parse_def_text
from scitex_container.apptainer.deffile.parse import COMMENTED_RE
from scitex_container.apptainer.deffile.parts import Section, files_from
from scitex_container.apptainer.deffile.sources import host_sources
from scitex_container.apptainer.deffile.text import TEMPLATE_RE, content, split_fields, split_lines
from scitex_container.errors import DefFileError
from scitex_container.files.pathinfo import broken_link, from_oserror, regular_file

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
    lines = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    if lines > MAX_DEF_LINES:  # a last line without its newline counts too
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

    Sources are read as apptainer reads them (:mod:`.sources`: quotes,
    globs, braces, ``{{ NAME }}`` from ``build_args`` over the stage's
    ``%arguments``), relative ones from ``base_dir`` (default: the def
    file's directory).  A glob must match something.  ``%files from
    <stage>`` entries are not host files; their stage must exist somewhere
    in the def (apptainer's parser accepts any name, its build refuses a
    missing one: this check says so before the build).  Returns the matched
    host paths, in entry order (glob matches sorted).
    """
    _check_templates(deffile, build_args or {})
    names = [stage.name for stage in deffile.stages]
    for _, section in deffile.iter_sections():
        _check_field_count(deffile.path, section)
        stage = files_from(deffile.path, section)  # "" (`from`, `from a b`): copies nothing
        if stage and stage not in names:
            raise DefFileError(
                f"`%files from {stage}`: no stage has `Stage: {stage}`",
                deffile.path,
                section.line,
            )
    found: list[Path] = []
    for source in host_sources(deffile, base_dir=base_dir, build_args=build_args):
        if source.matched:
            for path in source.paths:  # apptainer would copy a FIFO or device as one
                special = _special(path)
                if special:
                    raise DefFileError(
                        f"`%files` source `{source.src}` is {special}, not a file or "
                        f"directory (looked for {path})",
                        deffile.path,
                        source.line,
                    )
                inside = _special_inside(path) if path.is_dir() else None
                if inside is not None:  # apptainer hangs reading it, or copies it oddly
                    raise DefFileError(
                        f"`%files` source `{source.src}` holds {inside[1]}, not a file or "
                        f"directory: {inside[0]}",
                        deffile.path,
                        source.line,
                    )
            found.extend(source.paths)
            continue
        where = source.paths[0] if source.paths else source.src
        what = "matches nothing" if source.pattern else "does not exist"
        for path in source.paths:  # a link loop or dangling link: said as such
            broken = broken_link(path)
            if broken is not None:
                where, what = path, str(broken).rsplit(": ", 1)[-1]
                break
        raise DefFileError(
            f"`%files` source `{source.src}` {what} (looked for {where})",
            deffile.path,
            source.line,
        )
    return tuple(found)


def _special(path: Path) -> str:
    """ "a FIFO" / "a device" / "a socket" for such a path (links followed), else ""."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return ""
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a socket" if stat.S_ISSOCK(mode) else ""


def _special_inside(top: Path) -> tuple[str, str] | None:
    """(path, "a FIFO") for the first FIFO, device or socket in the tree ``top`` as
    apptainer copies it (links followed), else None."""
    seen: set[tuple[int, int]] = set()
    stack = [os.fspath(top)]
    while stack:
        directory = stack.pop()
        try:
            st = os.stat(directory)
            if (st.st_dev, st.st_ino) in seen:
                continue  # a link cycle: apptainer's copy says so itself
            seen.add((st.st_dev, st.st_ino))
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            continue  # unreadable: the build (or the input hashing) says so
        for entry in entries:
            try:
                if entry.is_dir():
                    stack.append(entry.path)
                    continue
                if entry.is_file():
                    continue
            except OSError:
                continue
            special = _special(Path(entry.path))
            if special:
                return entry.path, special
    return None


def _check_templates(deffile: DefFile, build_args: Mapping[str, str]) -> None:
    """A ``{{ NAME }}`` with no value: apptainer's build refuses it; so do we, before it."""
    values = {**deffile.arguments, **build_args}
    for line, raw in enumerate(split_lines(deffile.emit()), 1):
        text = content(raw)
        for match in TEMPLATE_RE.finditer(text):
            if COMMENTED_RE.search(text, 0, match.start()):
                break  # apptainer leaves a template after a comment alone
            if match.group(1) not in values:
                raise DefFileError(
                    f"build argument `{match.group(1)}` has no value: give it a default in "
                    "%arguments or pass it as a build arg",
                    deffile.path,
                    line,
                )


def _check_field_count(path: str, section: Section) -> None:
    """A ``%files`` line of more than ``src dest``: apptainer drops the rest silently."""
    if section.name not in ("files", "appfiles"):
        return
    for line, text in section.body_lines():
        text = text.strip()
        if not text or text.startswith("#"):
            continue
        fields = split_fields(text)
        if len(fields) > 2 and not fields[2].startswith("#"):
            raise DefFileError(
                f"%{section.name} line has {len(fields)} fields (`src [dest]`) and apptainer "
                "would ignore all but two; quote paths that contain spaces",
                path,
                line,
            )
