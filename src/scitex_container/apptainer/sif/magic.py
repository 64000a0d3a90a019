"""Is this file a SIF?  The magic test alone, importing nothing heavy.

Kept apart from :mod:`.header` so that a path can be tested without loading
the descriptor parser.  :mod:`.header` re-exports these names.
"""

from __future__ import annotations

import os
import stat
import struct

MAGIC = b"SIF_MAGIC\x00"
#: The global header: launch script, magic, version, arch, UUID, then eight
#: int64: created, modified, descriptors free/total/offset/size, data offset/size.
HEADER = struct.Struct("<32s10s3s3s16s8q")


def _regular(path: str | os.PathLike) -> bool:
    """Only a regular file can be a SIF: a FIFO or device is never opened (it would block)."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def has_sif_magic(path: str | os.PathLike) -> bool:
    """Does ``path`` start like a SIF (the launch line, then the magic at offset 32)?"""
    if not _regular(path):
        return False
    try:
        with open(path, "rb") as fh:
            head = fh.read(32 + len(MAGIC))
    except OSError:
        return False
    return head[32:] == MAGIC


def is_sif(path: str | os.PathLike) -> bool:
    """A whole SIF global header with the magic (a file too short is not a SIF)."""
    if not _regular(path):
        return False
    try:
        with open(path, "rb") as fh:
            head = fh.read(HEADER.size)
    except OSError:
        return False
    return len(head) == HEADER.size and head[32:42] == MAGIC


#: The refusal for an image store directory given where one image was expected.
STORE_GIVEN = "is an image store, not an image; give its active link or one of its versions"


def holds_sifs(directory: str | os.PathLike[str]) -> bool:
    """Does ``directory`` hold SIF files or links to them (an image store), not a sandbox?"""
    try:
        with os.scandir(os.fspath(directory)) as entries:
            names = [os.fsdecode(e.name) for e in entries]
        return any(n.endswith(".sif") and not n.startswith(".") for n in names)
    except OSError:
        return False
