#!/usr/bin/env python3
"""Make an ELF64 shared object built against glibc >= 2.38 loadable with an older glibc.

glibc 2.38 added C23 variants of the strto* functions (``__isoc23_strtol`` and
friends, version GLIBC_2.38); code built with it calls them instead of
``strtol``.  They differ only in also accepting a "0b" prefix for base 0/2.

Apptainer's ``offsetpreload.so`` (from Debian sid) is LD_PRELOADed into the
host's ``fuse2fs``, which runs on the host's glibc (bookworm: 2.36), so it cannot
use sid's private libc the way apptainer's executables do.  It needs only
``__isoc23_strtol`` from GLIBC_2.38.  This tool, in place:

* renames each undefined ``__isoc23_strto*`` symbol to the classic name (the new
  name is a suffix of the old one, so it fits in the same .dynstr bytes), and
* turns the GLIBC_2.38 version requirement into GLIBC_2.2.5 (the version of the
  classic functions on x86-64).

It refuses (exit 2) if anything other than those functions needs GLIBC_2.38.

Usage: downgrade-isoc23.py [--check] FILE
  --check: exit 0 if FILE needs no GLIBC_2.38 symbol, 1 if it does (and could be
           patched), 2 if it cannot be patched.
"""

import struct
import sys

SHT_DYNSYM = 11
SHT_GNU_VERNEED = 0x6FFFFFFE
SHT_GNU_VERSYM = 0x6FFFFFFF
NEW_VERSION = b"GLIBC_2.2.5"
OLD_VERSION = b"GLIBC_2.38"
RENAMES = {
    b"__isoc23_strtol": b"strtol",
    b"__isoc23_strtoul": b"strtoul",
    b"__isoc23_strtoll": b"strtoll",
    b"__isoc23_strtoull": b"strtoull",
    b"__isoc23_strtoimax": b"strtoimax",
    b"__isoc23_strtoumax": b"strtoumax",
}


def elf_hash(name: bytes) -> int:
    h = 0
    for c in name:
        h = ((h << 4) + c) & 0xFFFFFFFF
        g = h & 0xF0000000
        if g:
            h ^= g >> 24
        h &= ~g & 0xFFFFFFFF
    return h


def cstr(buf: bytes, off: int) -> bytes:
    return buf[off : buf.index(b"\0", off)]


def main(argv):
    check = "--check" in argv
    paths = [a for a in argv if a != "--check"]
    if len(paths) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    path = paths[0]
    with open(path, "rb") as f:
        data = bytearray(f.read())
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        print(f"{path}: not a little-endian ELF64 file", file=sys.stderr)
        return 2
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    sections = [
        struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)
    ]
    by_type = {}
    for s in sections:
        by_type.setdefault(s[1], s)
    if SHT_DYNSYM not in by_type or SHT_GNU_VERNEED not in by_type or SHT_GNU_VERSYM not in by_type:
        return 0  # no symbol versioning: nothing to do
    dynsym = by_type[SHT_DYNSYM]
    dynstr = sections[dynsym[6]]
    str_off = dynstr[4]
    strtab = bytes(data[str_off : str_off + dynstr[5]])
    versym = by_type[SHT_GNU_VERSYM]
    verneed = by_type[SHT_GNU_VERNEED]

    # Find the vernaux entry (and its version index) for GLIBC_2.38.
    target = None  # (offset of vernaux, index)
    off, count = verneed[4], verneed[7]
    for _ in range(count):
        _vn_version, vn_cnt, _vn_file, vn_aux, vn_next = struct.unpack_from("<HHIII", data, off)
        aoff = off + vn_aux
        for _ in range(vn_cnt):
            _h, _flags, other, name, a_next = struct.unpack_from("<IHHII", data, aoff)
            if cstr(strtab, name) == OLD_VERSION:
                target = (aoff, other)
            aoff += a_next
        off += vn_next
    if target is None:
        return 0
    aux_off, index = target

    nsyms = dynsym[5] // 24
    to_rename = []
    for i in range(nsyms):
        (ver,) = struct.unpack_from("<H", data, versym[4] + 2 * i)
        if ver & 0x7FFF != index:
            continue
        (st_name,) = struct.unpack_from("<I", data, dynsym[4] + 24 * i)
        name = cstr(strtab, st_name)
        if name not in RENAMES:
            print(
                f"{path}: needs {name.decode()}@GLIBC_2.38, which has no older equivalent",
                file=sys.stderr,
            )
            return 2
        to_rename.append((st_name, name))
    new_name_off = strtab.find(b"\0" + NEW_VERSION + b"\0")
    if new_name_off < 0:
        print(f"{path}: no {NEW_VERSION.decode()} string to reuse", file=sys.stderr)
        return 2
    if check:
        names = ", ".join(n.decode() for _, n in to_rename) or "nothing"
        print(f"{path}: needs GLIBC_2.38 for {names}", file=sys.stderr)
        return 1

    for st_name, name in to_rename:
        new = RENAMES[name] + b"\0"
        data[str_off + st_name : str_off + st_name + len(new)] = new
    struct.pack_into("<I", data, aux_off, elf_hash(NEW_VERSION))
    struct.pack_into("<I", data, aux_off + 8, new_name_off + 1)
    with open(path, "r+b") as f:
        f.write(data)
    renamed = ", ".join(n.decode() for _, n in to_rename)
    print(f"{path}: {renamed} now bound to classic GLIBC_2.2.5 symbols", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
