"""Adding and deleting SIF data objects in-process, as ``apptainer sif add``/``sif del`` do.

A build embeds its lock and provenance (and, signed, its in-toto
statement) into the fresh image; two or three ``apptainer sif add``
process starts cost more than the writes themselves.  :func:`edit_objects`
does the same edits with a few ``pwrite``-sized writes, following
github.com/apptainer/sif ``pkg/sif`` (``add.go``, ``create.go``,
``delete.go``, ``descriptor_input.go``) so the bytes are the ones
``apptainer sif`` would have written:

- delete: the descriptor slot is zeroed, ``DescriptorsFree`` + 1, the
  header's modified time set; the data stays where it was (no zeroing, no
  compaction: ``sif del``'s defaults), and a removed primary partition
  resets the header's arch to unknown;
- add: the first unused slot ``i`` gets the object, id ``i + 1``; the data
  goes at ``DataOffset`` + the end of the last used object (space freed at
  the end is reused, a hole in the middle is not), aligned only if asked
  (``--alignment``; partitions, which this module does not write, default
  to 4096); group ``g`` is stored as ``g | 0xF0000000`` (``--groupid``
  absent: no group, stored as the mask alone), created = modified = the
  edit's time, the name NUL-padded to 128 bytes, the extra field the SBOM
  format as an int32 (``--sbomformat``) or zeros; then ``DescriptorsFree``
  - 1, ``DataSize`` = end of the new object, modified time set;
- time: now (whole seconds), or 0001-01-01 on a "deterministic" image
  (nil UUID, created and modified at that zero time), as ``sif`` does.

Order of writes: data, descriptors, header (as ``sif``), so the header
never points at data not yet written should the process die midway.  The
edit is in place: builds make it on their temporary ``.building`` artifact
before publishing (a crash leaves only a temporary the store sweeps); the
file is not truncated, as ``sif`` does not truncate either.  Like
``sif``, no fsync unless ``sync``: the store does not fsync an image it
publishes (apptainer build does not either), so an fsync here would cost
time for a guarantee nothing relies on.
"""

from __future__ import annotations

import os
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from scitex_container.apptainer.sif import header as sifh
from scitex_container.errors import BadInputError, NotFoundError

#: ``time.Time{}.Unix()`` in Go: the "unset" time of a deterministic image.
ZERO_TIME = -62_135_596_800
NAME_LEN = 128
#: ``--sbomformat`` values and their SIF codes (pkg/sif/sif.go ``SBOMFormat``).
SBOM_FORMATS = {
    "cyclonedx-json": 1,
    "cyclonedx-xml": 2,
    "github": 3,
    "github-json": 3,
    "spdx-json": 4,
    "spdx-rdf": 5,
    "spdx-tag-value": 6,
    "spdx-yaml": 7,
    "syft-json": 8,
}
#: The data types this writer adds: those whose descriptor carries no
#: metadata beyond an SBOM format (partitions, signatures, crypto messages
#: and OCI blobs need fields we have no use for).
WRITABLE_TYPES = frozenset((0x4001, 0x4002, 0x4003, sifh.GENERIC_JSON, sifh.GENERIC, sifh.SBOM))
_ARCH_UNKNOWN = b"00\x00"


@dataclass(frozen=True)
class NewObject:
    """A data object to add, described as ``apptainer sif add`` options describe it."""

    name: str
    data: bytes
    datatype: int = sifh.GENERIC  #: the SIF type code (``--datatype N`` is 0x4000 + N)
    group: int = 0  #: 0: in no group
    link: int = 0
    alignment: int = 0
    sbom_format: str | None = None

    def extra(self) -> bytes:
        if self.datatype != sifh.SBOM:
            return b""
        return SBOM_FORMATS[self.sbom_format or ""].to_bytes(4, "little")


def object_from_add_args(data: bytes, args: Sequence[str]) -> NewObject:
    """The object ``apptainer sif add ARGS image FILE`` would add, FILE holding ``data``.

    Understands ``--datatype``, ``--filename``, ``--groupid``, ``--link``,
    ``--alignment`` and ``--sbomformat`` (as ``--opt value`` or ``--opt=value``).
    """
    opts: dict[str, str] = {}
    items = list(args)
    while items:
        item = items.pop(0)
        key, eq, value = item.partition("=")
        if not key.startswith("--"):
            raise BadInputError(f"unexpected sif add argument {item!r}", "sif add options")
        if not eq:
            if not items:
                raise BadInputError(f"{key} needs a value", "sif add options")
            value = items.pop(0)
        opts[key[2:]] = value
    unknown = sorted(
        set(opts) - {"datatype", "filename", "groupid", "link", "alignment", "sbomformat"}
    )
    if unknown:
        raise BadInputError(f"unsupported sif add option --{unknown[0]}", "sif add options")
    try:
        number = int(opts.get("datatype", "0"))
        link = int(opts["link"]) if "link" in opts else None
        obj = NewObject(
            name=opts.get("filename", ""),
            data=data,
            datatype=0x4000 + number,
            group=int(opts.get("groupid", "0")),
            link=link or 0,
            alignment=int(opts.get("alignment", "0")),
            sbom_format=opts.get("sbomformat"),
        )
    except ValueError:
        raise BadInputError("sif add options need integer values", "sif add options") from None
    if link == 0:
        raise BadInputError("--link 0 names no object", "sif add options")
    return obj


def _check(obj: NewObject) -> None:
    where = f"data object {obj.name!r}"
    if obj.datatype not in WRITABLE_TYPES:
        raise BadInputError(f"cannot write a data object of type {obj.datatype:#x}", where)
    if len(obj.name.encode()) > NAME_LEN:
        raise BadInputError(f"object name longer than {NAME_LEN} bytes", where)
    if not 0 <= obj.group < sifh.GROUP_MASK or not 0 <= obj.link < 2**32:
        raise BadInputError("group or link id out of range", where)
    if obj.datatype == sifh.SBOM and obj.sbom_format not in SBOM_FORMATS:
        raise BadInputError(f"an SBOM needs a known format, not {obj.sbom_format!r}", where)


def _next_aligned(offset: int, alignment: int) -> int:
    if alignment <= 0 or offset % alignment == 0:
        return offset
    return offset + alignment - offset % alignment


def _edit_time(fields: tuple, when: int | None) -> int:
    if when is not None:
        return when
    deterministic = (
        fields[sifh.H_ID] == bytes(16)
        and fields[sifh.H_CREATED] == ZERO_TIME
        and fields[sifh.H_MODIFIED] == ZERO_TIME
    )
    return ZERO_TIME if deterministic else int(time.time())


def _descriptor(obj: NewObject, oid: int, offset: int, padded: int, when: int) -> bytes:
    return sifh.DESCRIPTOR.pack(
        obj.datatype,
        1,
        oid,
        obj.group | sifh.GROUP_MASK,
        obj.link,
        offset,
        len(obj.data),
        padded,
        when,
        when,
        0,
        0,
        obj.name.encode(),
        obj.extra(),
    )


def edit_objects(
    path: str | os.PathLike,
    *,
    delete: Collection[int] = (),
    add: Sequence[NewObject] = (),
    when: int | None = None,
    sync: bool = False,
) -> tuple[int, ...]:
    """Delete the objects with ids ``delete``, then add ``add`` in order; the new ids.

    The same as ``apptainer sif del ID`` for each id, then ``apptainer sif
    add`` for each object, made within one second (``when``: that second,
    else now).  Every argument is checked before the file changes;
    :class:`NotFoundError` for an id not in use, :class:`BadInputError` when
    no descriptor slot is free or an object cannot be written.  ``sync``:
    fsync the file before returning.
    """
    path = Path(path)
    where = str(path)
    for obj in add:
        _check(obj)
    with open(path, "r+b") as fh:
        fields, slots = sifh.read_layout(fh, where)
        hdr = list(fields)
        stamp = _edit_time(fields, when)
        changed: dict[int, bytes] = {}
        for oid in delete:
            index, gone = next(
                ((i, o) for i, o in enumerate(slots) if o and o.id == oid), (0, None)
            )
            if gone is None:
                raise NotFoundError(f"the SIF has no data object {oid}", where)
            if gone.datatype == sifh.PARTITION and gone.parttype == sifh.PART_PRIMSYS:
                hdr[sifh.H_ARCH] = _ARCH_UNKNOWN
            slots[index] = None
            changed[index] = bytes(sifh.DESCRIPTOR.size)
            hdr[sifh.H_FREE] += 1
        if len(add) > slots.count(None):
            raise BadInputError(
                f"the SIF has {slots.count(None)} free descriptors, {len(add)} objects to add",
                where,
            )
        data_offset = hdr[sifh.H_DATA_OFFSET]
        added = []
        for obj in add:
            index = slots.index(None)
            end = max((o.offset + o.size for o in slots if o is not None), default=data_offset)
            unaligned = max(end, data_offset)
            offset = _next_aligned(unaligned, obj.alignment)
            fh.seek(offset)
            fh.write(obj.data)
            padded = offset - unaligned + len(obj.data)
            slots[index] = sifh.SifObject(
                index + 1, obj.datatype, obj.group, obj.link, offset, len(obj.data), obj.name
            )
            changed[index] = _descriptor(obj, index + 1, offset, padded, stamp)
            hdr[sifh.H_FREE] -= 1
            hdr[sifh.H_DATA_SIZE] = unaligned - data_offset + padded
            added.append(index + 1)
        if not changed:
            return ()
        hdr[sifh.H_MODIFIED] = stamp
        for index, raw in sorted(changed.items()):
            fh.seek(hdr[sifh.H_DESC_OFFSET] + index * sifh.DESCRIPTOR.size)
            fh.write(raw)
        fh.seek(0)
        fh.write(sifh.HEADER.pack(*hdr))
        fh.flush()
        if sync:
            os.fsync(fh.fileno())
    return tuple(added)


def delete_objects(
    path: str | os.PathLike, ids: Collection[int], *, when: int | None = None
) -> None:
    """``apptainer sif del`` each of ``ids`` (see :func:`edit_objects`)."""
    edit_objects(path, delete=ids, when=when)
