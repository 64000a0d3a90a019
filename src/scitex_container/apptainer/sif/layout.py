"""The bytes of a SIF that apptainer's signature does not cover, checked without hashing the file.

``apptainer sign`` (github.com/apptainer/sif, ``pkg/integrity``) signs, per
object group: the global header's launch script, magic, version and ID
(offsets 0-44 and 48-63); of each object's descriptor the data type, used
flag, id, link, size, creation time, uid, gid, name and type-specific extra
data; and the sha256 of each object's data.  It does *not* sign:

* header offset 45-47 ``arch``, 64-79 ``ctime``/``mtime``, 80-127 the
  descriptor counts (free, total), the descriptor table's offset and size,
  the data section's offset and size;
* of each descriptor: group, offset, size-with-padding, modification time;
  unused descriptors entirely;
* the padding between the header and the descriptor table (the table starts
  at 4096), after the table, and between objects (alignment).

A byte flipped there passes ``apptainer verify``.  :func:`check_layout`
checks each such byte against what the signed bytes imply, reading only the
header, the descriptor table and the padding (kilobytes, whatever the image
size):

``layout:arch``
    the header arch is a known SIF arch code and equals the (signed) arch of
    the primary partition;
``layout:times``
    ``0 <= ctime <= every object's creation time <= mtime``, every
    object's modification time between its (signed) creation time and
    ``mtime``, and ``mtime`` not more than a day in the future;
``layout:descriptors``
    the counts, table offset/size and data offset/size are the ones the
    table and the objects imply, and the file ends where the data ends;
``layout:descriptor N``
    unused descriptor N is all zero;
``layout:padding``
    the bytes between header and table, table and data, and each object's
    alignment padding (its size-with-padding minus its size) are zero;
    objects do not overlap.

What these rules cannot see is a timestamp changed to another plausible
value, and the bytes of an object ``apptainer sif del`` removed from the
middle of the data (it leaves them in place, not zeroed).
:func:`layout_sha256` (sha256 of every byte outside the signed objects'
data: header, table, padding, holes, signature objects) closes that gap
when a digest was recorded at signing: the store records it beside the
version's sha256, so ``verify --key`` compares it instead of hashing the
whole file.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

from scitex_container.apptainer.sif.header import DESCRIPTOR as _DESC
from scitex_container.apptainer.sif.header import HEADER as _HEADER
from scitex_container.apptainer.sif.header import MAGIC

SIGNATURE = 0x4005
PARTITION = 0x4004
#: SIF arch codes ("00".."13" then NUL), github.com/apptainer/sif pkg/sif/arch.go.
ARCHES = {f"{i:02d}".encode() + b"\x00" for i in range(14)}
FUTURE_SLACK = 86_400


@dataclass(frozen=True)
class LayoutProblem:
    check: str  #: ``layout:arch``, ``layout:times``, ...
    detail: str


@dataclass(frozen=True)
class _Obj:
    index: int
    dtype: int
    oid: int
    offset: int
    size: int
    padded: int
    created: int
    modified: int
    extra: bytes


def _read_table(fh, path: str) -> tuple[tuple, bytes, list[_Obj]]:
    head = fh.read(_HEADER.size)
    if len(head) < _HEADER.size or head[32:42] != MAGIC:
        raise ValueError(f"{path}: not a SIF image")
    fields = _HEADER.unpack(head)
    total, desc_off, desc_size = fields[8], fields[9], fields[10]
    if not 0 <= total <= 100_000 or desc_size != total * _DESC.size or desc_off < _HEADER.size:
        return fields, b"", []
    fh.seek(desc_off)
    table = fh.read(desc_size)
    objs = []
    for i in range(len(table) // _DESC.size):
        raw = _DESC.unpack_from(table, i * _DESC.size)
        if raw[1]:
            objs.append(_Obj(i, raw[0], raw[2], raw[5], raw[6], raw[7], raw[8], raw[9], raw[13]))
    return fields, table, objs


def _gaps(desc_off: int, desc_end: int, data_off: int, objs: list[_Obj]) -> Iterator[tuple]:
    """(start, end) of every stretch that belongs to no header, table or object."""
    yield _HEADER.size, desc_off
    yield desc_end, data_off
    end = data_off
    for obj in sorted(objs, key=lambda o: o.offset):
        yield end, obj.offset
        end = max(end, obj.offset + obj.size)


def _zero(fh, start: int, end: int) -> bool:
    fh.seek(start)
    left = end - start
    while left > 0:
        chunk = fh.read(min(left, 1 << 20))
        if not chunk or chunk.count(0) != len(chunk):
            return False
        left -= len(chunk)
    return True


def _check(fh, size: int, fields: tuple, table: bytes, objs: list[_Obj]) -> LayoutProblem | None:
    arch, ctime, mtime, free, total, desc_off, desc_size, data_off, data_size = (
        fields[3],
        *fields[5:],
    )
    if len(table) != desc_size or desc_size != total * _DESC.size or desc_off < _HEADER.size:
        return LayoutProblem("layout:descriptors", "the descriptor table is not where it says")
    part = next((o for o in objs if o.dtype == PARTITION), None)
    part_arch = part.extra[8:11] if part is not None else None
    if arch not in ARCHES or (part_arch in ARCHES and arch != part_arch):
        return LayoutProblem(
            "layout:arch", f"header arch {arch!r} is not the partition's {part_arch!r}"
        )
    created = [o.created for o in objs]
    if not (0 <= ctime <= min(created, default=ctime) and max(created, default=mtime) <= mtime):
        return LayoutProblem(
            "layout:times", f"header ctime {ctime} / mtime {mtime} do not enclose the objects'"
        )
    if mtime > time.time() + FUTURE_SLACK:
        return LayoutProblem("layout:times", f"header mtime {mtime} is in the future")
    for obj in objs:
        if not obj.created <= obj.modified <= mtime:
            return LayoutProblem(
                "layout:times", f"object {obj.oid} modification time {obj.modified} is off"
            )
    desc_end = desc_off + desc_size
    data_end = max((o.offset + o.size for o in objs), default=data_off)
    if (
        free != total - len(objs)
        or data_off != desc_end
        or data_size != data_end - data_off
        or size != data_end
    ):
        return LayoutProblem(
            "layout:descriptors",
            f"counts/offsets disagree (free {free}, total {total}, data {data_off}+{data_size}, "
            f"file {size} bytes)",
        )
    used = {o.index for o in objs}
    for i in range(total):
        if i not in used and table[i * _DESC.size : (i + 1) * _DESC.size].count(0) != _DESC.size:
            return LayoutProblem(
                f"layout:descriptor {i + 1}", f"unused descriptor {i} is not empty"
            )
    for start, stop in _padding(desc_off, desc_end, data_off, objs):
        if stop < start:
            return LayoutProblem(
                "layout:descriptors",
                f"the object at byte {start} overlaps the previous one or its padding",
            )
        if stop > start and not _zero(fh, start, stop):
            return LayoutProblem("layout:padding", f"non-zero padding in bytes {start}-{stop}")
    return None


def _padding(desc_off: int, desc_end: int, data_off: int, objs: list[_Obj]) -> Iterator[tuple]:
    """(start, end) of the stretches that must be zero.

    The header's end to the table, the table's end to the data, and before
    each object its alignment padding (``size-with-padding - size`` bytes).
    A longer gap is what ``apptainer sif del`` leaves of a deleted object
    (its bytes are not zeroed): that hole is not checked here (it is in
    :func:`layout_sha256`).
    """
    yield _HEADER.size, desc_off
    yield desc_end, data_off
    end = data_off
    for obj in sorted(objs, key=lambda o: o.offset):
        pad = obj.padded - obj.size
        if pad < 0 or obj.offset - pad < end:  # overlaps, or padding reaching into the previous
            yield obj.offset, obj.offset - 1  # reversed: the caller reports it
        else:
            yield obj.offset - pad, obj.offset
        end = max(end, obj.offset + obj.size)


def check_layout(path: str | os.PathLike) -> LayoutProblem | None:
    """The first unsigned byte of ``path`` that is not what the signed bytes imply, or None."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        fields, table, objs = _read_table(fh, os.fspath(path))
        return _check(fh, size, fields, table, objs)


def layout_sha256(path: str | os.PathLike) -> str:
    """sha256 of every byte outside the data of non-signature objects (see the module doc)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        fields, table, objs = _read_table(fh, os.fspath(path))
        fh.seek(0)
        h.update(fh.read(_HEADER.size))
        h.update(table)
        desc_end = fields[9] + fields[10]
        stretches = list(_gaps(fields[9], desc_end, fields[11], objs))
        data_end = max((o.offset + o.size for o in objs), default=fields[11])
        stretches.append((data_end, size))
        stretches += [(o.offset, o.offset + o.size) for o in objs if o.dtype == SIGNATURE]
        for start, stop in sorted(stretches):
            if stop > start:
                h.update(f"{start}:{stop}\n".encode())
                fh.seek(start)
                left = stop - start
                while left > 0 and (chunk := fh.read(min(left, 1 << 20))):
                    h.update(chunk)
                    left -= len(chunk)
    return h.hexdigest()
