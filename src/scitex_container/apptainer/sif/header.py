"""Reading a SIF file's header and data object descriptors without a process.

The SIF layout (github.com/apptainer/sif, little endian, packed): a 128-byte
global header (launch script, magic ``SIF_MAGIC``, version, arch, UUID,
times, descriptor table position), then a table of fixed-size descriptors
(data type, used flag, id, group, link, offset, size, ..., a 128-byte name
and 384 bytes of type-specific extra data).  ``apptainer sif list`` prints
the same table but not the objects' names, which provenance needs; reading
the 30 KB table here takes well under a millisecond.
"""

from __future__ import annotations

import os
import struct
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from scitex_container.apptainer.sif.magic import HEADER, MAGIC
from scitex_container.apptainer.sif.magic import has_sif_magic as has_sif_magic  # re-exported
from scitex_container.apptainer.sif.magic import is_sif as is_sif  # re-exported
from scitex_container.errors import BadInputError
from scitex_container.files.pathinfo import not_found
from scitex_container.result import Result

H_ARCH, H_ID, H_CREATED, H_MODIFIED, H_FREE, H_TOTAL = 3, 4, 5, 6, 7, 8
H_DESC_OFFSET, H_DESC_SIZE, H_DATA_OFFSET, H_DATA_SIZE = 9, 10, 11, 12
#: One descriptor: type, used, id, group, link, offset, size, size with
#: padding, created, modified, uid, gid, name, extra.
DESCRIPTOR = struct.Struct("<iBIIIqqqqqqq128s384s")
GROUP_MASK = 0xF0000000

#: SIF data types (``apptainer sif add --datatype N`` uses N = type - 0x4000).
DATA_TYPES = {
    0x4001: "Def.FILE",
    0x4002: "Env.Vars",
    0x4003: "JSON.Labels",
    0x4004: "FS",
    0x4005: "Signature",
    0x4006: "JSON.Generic",
    0x4007: "Generic/Raw",
    0x4008: "Cryptographic Message",
    0x4009: "SBOM",
    0x400A: "OCI.RootIndex",
    0x400B: "OCI.Blob",
}
PARTITION = 0x4004
GENERIC = 0x4007
GENERIC_JSON = 0x4006
SBOM = 0x4009
FS_SQUASH = 1
PART_PRIMSYS = 2


@dataclass(frozen=True)
class SifObject(Result):
    """One data object of a SIF."""

    id: int
    datatype: int
    group: int
    link: int
    offset: int
    size: int
    name: str
    fstype: int = 0
    parttype: int = 0

    @property
    def kind(self) -> str:
        return DATA_TYPES.get(self.datatype, hex(self.datatype))

    @property
    def is_squashfs_partition(self) -> bool:
        return self.datatype == PARTITION and self.fstype == FS_SQUASH


@dataclass(frozen=True)
class SifInfo(Result):
    """The global header and the used descriptors of a SIF file."""

    path: Path
    image_id: str
    objects: tuple[SifObject, ...]

    def primary_partition(self) -> SifObject | None:
        """The primary system partition (else the first partition), or None."""
        parts = [o for o in self.objects if o.datatype == PARTITION]
        for part in parts:
            if part.parttype == PART_PRIMSYS:
                return part
        return parts[0] if parts else None

    def named(self, name: str) -> list[SifObject]:
        return [o for o in self.objects if o.name == name]


def read_layout(fh: BinaryIO, where: str) -> tuple[tuple, list[SifObject | None]]:
    """The unpacked global header of the open SIF ``fh`` and every descriptor slot.

    Slot ``i`` is None when unused (apptainer gives a new object the first
    unused slot and the id ``i + 1``); BadInputError naming ``where`` if
    ``fh`` is not a SIF.
    """
    fh.seek(0)
    head = fh.read(HEADER.size)
    if len(head) < HEADER.size or head[32:42] != MAGIC:
        raise BadInputError("not a SIF image (no SIF_MAGIC header)", where)
    fields = HEADER.unpack(head)
    total, desc_off, desc_size = fields[H_TOTAL], fields[H_DESC_OFFSET], fields[H_DESC_SIZE]
    if total < 0 or total * DESCRIPTOR.size > desc_size or total > 100_000:
        raise BadInputError("corrupt SIF descriptor table", where)
    fh.seek(desc_off)
    table = fh.read(total * DESCRIPTOR.size)
    return fields, [
        _object(DESCRIPTOR.unpack_from(table, i * DESCRIPTOR.size))
        for i in range(len(table) // DESCRIPTOR.size)
    ]


def _object(raw: tuple) -> SifObject | None:
    dtype, used, oid, group, link, offset, size = raw[:7]
    if not used:
        return None
    name = raw[12].split(b"\x00", 1)[0].decode("utf-8", "replace")
    extra = raw[13]
    fstype, parttype = struct.unpack_from("<ii", extra, 0) if dtype == PARTITION else (0, 0)
    return SifObject(
        oid, dtype, group & 0x0FFFFFFF, link & 0x0FFFFFFF, offset, size, name, fstype, parttype
    )


def read_sif(path: str | os.PathLike) -> SifInfo:
    """Parse the header and descriptor table; BadInputError if not a SIF."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            fields, slots = read_layout(fh, str(path))
    except FileNotFoundError:
        raise not_found(path, "the image does not exist") from None
    except IsADirectoryError:
        raise BadInputError("a sandbox directory is not a SIF file", str(path)) from None
    objects = tuple(o for o in slots if o is not None)
    return SifInfo(path, str(uuid.UUID(bytes=fields[H_ID])), objects)


def read_object(path: str | os.PathLike, obj: SifObject) -> bytes:
    """The bytes of one data object (what ``apptainer sif dump`` prints)."""
    with open(path, "rb") as fh:
        fh.seek(obj.offset)
        return fh.read(obj.size)
