"""The host package groups: their programs, version probe, apt packages and data.

One table drives checking (:mod:`.check`), installing (:mod:`.install`, whose
shell script holds the same apt package names) and mounting (:mod:`.mounts`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Group:
    name: str
    #: Programs looked up on PATH (check) and under ``<prefix>/bin`` (mounts).
    binaries: tuple[str, ...]
    #: Programs tried in order for the version probe.
    probe: tuple[str, ...]
    version_args: tuple[str, ...]
    #: The probe's first line must match, so a stand-in or an unrelated
    #: program of the same name is not taken for the real one.
    version_pattern: re.Pattern[str]
    #: Data directories, globs relative to the prefix (bound at the same path).
    share: tuple[str, ...] = ()
    #: Data directories by absolute glob, used when the prefix is ``/usr``.
    system_globs: tuple[str, ...] = ()
    #: Globs relative to the prefix of directories holding dlopen()ed modules.
    module_globs: tuple[str, ...] = ()


TEXLIVE = Group(
    name="texlive",
    binaries=(
        "pdflatex",
        "latex",
        "xelatex",
        "lualatex",
        "pdftex",
        "tex",
        "etex",
        "luatex",
        "xetex",
        "bibtex",
        "biber",
        "makeindex",
        "kpsewhich",
        "kpseaccess",
        "kpsestat",
        "kpsereadlink",
        "mktexlsr",
        "mktextfm",
        "mktexpk",
        "mktexfmt",
        "fmtutil",
        "latexmk",
        "dvipdfmx",
        "xdvipdfmx",
        "dvips",
    ),
    probe=("pdftex", "pdflatex"),
    version_args=("--version",),
    version_pattern=re.compile(r"^pdfTeX\b"),
    share=("share/texlive", "share/texmf", "share/texmf-dist"),
    # Debian keeps generated formats and ls-R files in /var/lib/texmf and the
    # configuration (texmf.cnf, fmtutil.cnf, updmap.cfg) in /etc/texmf.
    system_globs=("/var/lib/texmf", "/etc/texmf"),
)

IMAGEMAGICK = Group(
    name="imagemagick",
    binaries=("magick", "convert", "identify", "mogrify", "composite", "montage", "compare"),
    probe=("magick", "convert"),
    version_args=("-version",),
    version_pattern=re.compile(r"^Version: ImageMagick\b"),
    share=("share/ImageMagick-*",),
    system_globs=("/etc/ImageMagick-*",),
    # Coders and filters are modules loaded at run time, with their own libraries.
    module_globs=("lib/*/ImageMagick-*", "lib/ImageMagick-*"),
)

GROUPS: dict[str, Group] = {g.name: g for g in (TEXLIVE, IMAGEMAGICK)}
