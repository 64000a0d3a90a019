"""Host tools bound into containers at the same absolute paths as on the host."""

from __future__ import annotations

import os
from pathlib import Path

#: TeX Live programs bound from the host when present.
TEXLIVE_BINS = (
    "pdflatex", "latex", "xelatex", "lualatex", "bibtex", "biber", "makeindex",
    "kpsewhich", "tex", "pdftex", "latexmk", "dvipdfmx",
)
#: TeX Live data directories under the prefix.
TEXLIVE_SHARE = ("share/texlive", "share/texmf", "share/texmf-dist")


def get_texlive_binds(prefix: str = "/usr") -> list[dict]:
    """Generate bind mount entries for TeX Live under ``prefix``.

    Each entry lands at the same absolute path inside the container as on the
    host; only paths that exist are listed.

    Returns:
        ``[{"host": ..., "container": ..., "mode": "ro"}, ...]``
    """
    root = Path(prefix)
    out: list[dict] = []
    for rel in TEXLIVE_SHARE:
        path = root / rel
        if path.is_dir():
            out.append({"host": str(path), "container": str(path), "mode": "ro"})
    for name in TEXLIVE_BINS:
        path = root / "bin" / name
        if os.path.lexists(path):
            out.append({"host": str(path), "container": str(path), "mode": "ro"})
    return out
