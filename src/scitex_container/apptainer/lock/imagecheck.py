"""Is this path an image (a SIF file or a sandbox directory)?  Importing nothing heavy.

Apart from :mod:`.capture` (which re-exports it) so that ``verify`` can
check its argument without loading the capture machinery, which it needs
only when a lock is found.
"""

from __future__ import annotations

import os
from pathlib import Path

from scitex_container.apptainer.sif.magic import STORE_GIVEN, holds_sifs, is_sif
from scitex_container.errors import BadInputError
from scitex_container.files.pathinfo import not_found, regular_file


def check_image(image: str | os.PathLike) -> Path:
    """``image`` as a Path if it is a SIF file or a sandbox directory."""
    path = Path(image)
    if not path.exists():
        raise not_found(path, "the image does not exist")
    if path.is_dir():
        if not any((path / d).is_dir() for d in (".singularity.d", "etc", "usr", "bin")):
            if holds_sifs(path):
                raise BadInputError(STORE_GIVEN, str(path))
            raise BadInputError(
                "directory is not a sandbox image (no etc/, usr/, .singularity.d/)", str(path)
            )
        return path
    regular_file(path, "image")  # a FIFO or device: "not a regular file (a FIFO)"
    if not is_sif(path):
        raise BadInputError("not a SIF image or sandbox directory", str(path))
    return path
