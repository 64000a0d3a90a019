"""What ``repro`` checks of a def before it builds anything, and after it pins.

* :func:`check_before_build`: everything knowable from the rough def alone
  is checked before the rough build: it parses, and when the locked def
  will be written in another directory, the rebase :func:`..lock.rebase.rebase_def`
  would do is possible (a template or a quote in a ``%files`` source, a
  destination-less glob spanning directories, a ``#`` before a ``From:``
  are refused here, naming ``file:line``, exit 2).
* :func:`check_same_sources`: the locked def's ``%files`` must expand to
  the very host paths the rough def's do (the promise "its ``%files``
  expand to the same sources"); a difference is refused before the locked
  build, so a round trip that copied other files is never "reproduced".
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

from scitex_container.apptainer.deffile import parse_def
from scitex_container.apptainer.deffile.sources import host_sources
from scitex_container.errors import BadInputError, DefFileError

#: The generated header's first words (:data:`..lock.pin.HEADER_PREFIX`).
_OURS = b"# [scitex-container] "


def beside_path(rough_def: Path, name: str) -> Path:
    """Where ``--locked-def-beside`` writes the locked def: ``<def dir>/<name>.locked.def``.

    A file already there that we did not generate is refused, never overwritten.
    """
    path = rough_def.absolute().parent / f"{name}.locked.def"
    if os.path.lexists(path) and not path.is_file():
        raise BadInputError(_in_the_way(path), str(path))
    check_output(path, rough_def)
    return path


def _in_the_way(path: Path) -> str:
    if not path.exists():
        return f"a dangling link (to {os.readlink(path)}) is in the way of the locked def"
    return "a file we did not generate is in the way of the locked def"


def check_output(path: Path, rough_def: Path) -> None:
    """Refuse writing a locked def over the rough def or a regular file we did not generate.

    A dangling link is refused too; a device or FIFO is written through.
    """
    if os.path.islink(path) and not path.exists():
        raise BadInputError(_in_the_way(path), str(path))
    if not path.is_file():
        return
    if rough_def.exists() and path.samefile(rough_def):
        raise BadInputError("the locked def would overwrite the rough def", str(path))
    with open(path, "rb") as fh:
        if fh.read(len(_OURS)) != _OURS:
            raise BadInputError(_in_the_way(path), str(path))


#: Variables whose value a ``%post`` sets would override the archive's own
#: apt/pip configuration (the archive stanzas set them before the user's code).
ARCHIVE_OVERRIDES = (
    "APT_CONFIG",
    "PIP_CONFIG_FILE",
    "PIP_INDEX_URL",
    "PIP_EXTRA_INDEX_URL",
    "PIP_FIND_LINKS",
)
_OVERRIDE_RE = re.compile(r"(?<![\w$])(" + "|".join(ARCHIVE_OVERRIDES) + r")\s*=")


def check_before_build(rough_def: Path, *, beside: bool, archive: bool = False) -> None:
    """Refuse (DefFileError, exit 2) what would fail only after the rough build.

    With ``archive``, a ``%post`` that sets one of :data:`ARCHIVE_OVERRIDES`
    is refused: its value would win over the archive's configuration, and the
    offline rebuild would fail only after the rough build.
    """
    from scitex_container.apptainer.lock.rebase import rebase_def

    deffile = parse_def(rough_def)
    if archive:
        for _, section in deffile.iter_sections():
            if section.name != "post":
                continue
            for line, raw in section.body_lines():
                found = None if raw.lstrip().startswith("#") else _OVERRIDE_RE.search(raw)
                if found is not None:
                    raise DefFileError(
                        f"this %post sets `{found.group(1)}`, which would override the "
                        "archive's configuration: `repro --archive` cannot honour it "
                        "offline; drop it, or repro without --archive",
                        os.fspath(rough_def),
                        line,
                    )
    if not beside:
        rebase_def(deffile, rough_def.resolve().parent)


def check_image_mode(locked_def: Path) -> None:
    """Refuse rebuilding a locked def whose sources are relative to a directory we do not know.

    A locked def written beside its rough def (``--locked-def-beside``)
    keeps relative ``%files`` sources and ``localimage`` ``From:``; its copy
    beside the image would resolve them against the image store, which
    holds other files or none (BadInputError, exit 2, before any build).
    """
    deffile = parse_def(locked_def)
    relative = [
        f"`{s.from_}`"
        for s in deffile.stages
        if s.bootstrap == "localimage" and not (s.from_ or "/").startswith("/")
    ]
    one = host_sources(deffile, base_dir="/nonexistent-a", strict=False)
    two = host_sources(deffile, base_dir="/nonexistent-b", strict=False)
    relative += [f"`{a.src}`" for a, b in zip(one, two, strict=True) if a.paths != b.paths]
    if relative:
        raise BadInputError(
            f"its locked def names {', '.join(relative)} relative to the rough def's "
            "directory (made with --locked-def-beside), which the image does not record; "
            "run `scitex-container repro DEF --locked-def-beside` on the rough def instead",
            os.fspath(locked_def),
        )


def _expanded(def_path: Path) -> list[tuple[int, int, tuple[str, ...]]]:
    found = host_sources(parse_def(def_path), base_dir=def_path.absolute().parent)
    return [(s.stage, s.line, tuple(os.fspath(p) for p in s.paths)) for s in found]


def check_same_sources(rough_def: Path, locked_def: Path) -> None:
    """Refuse a locked def whose ``%files`` copy other host paths than the rough def's."""
    rough, locked = _expanded(rough_def), _expanded(locked_def)
    for k in range(max(len(rough), len(locked))):
        a = rough[k] if k < len(rough) else (0, 0, ())
        b = locked[k] if k < len(locked) else (0, 0, ())
        if (a[0], a[2]) != (b[0], b[2]):
            raise DefFileError(
                f"the locked def {locked_def} would copy {list(b[2])} where the rough def "
                f"copies {list(a[2])}; write the locked def beside the rough def "
                "(--locked-def-beside)",
                os.fspath(rough_def),
                a[1] or None,
            )


def repro_command(
    def_path, output_dir, image_name, snapshot, apt_scope, pip_options, archive=None, beside=False
) -> str:
    """The ``scitex-container repro ...`` command line recorded in the marker."""
    argv = ["scitex-container", "repro", os.fspath(def_path)]
    if output_dir is not None:
        argv += ["--output-dir", os.fspath(output_dir)]
    if image_name:
        argv += ["--name", image_name]
    if snapshot:
        argv += ["--snapshot", snapshot]
    if apt_scope != "added":
        argv += ["--apt-scope", apt_scope]
    for opt in pip_options or ():
        argv += ["--pip-option", opt]
    if archive is not None:
        argv += ["--archive", os.fspath(archive)]
    if beside:
        argv += ["--locked-def-beside"]
    return shlex.join(argv)
