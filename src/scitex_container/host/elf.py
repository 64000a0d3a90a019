"""What kind of program a file is, and which libraries the host's loader gives it.

:func:`inspect` reads only the file's first bytes: an ELF header (its machine
and the ``PT_INTERP`` loader path) or a ``#!`` line.  :func:`loader_listing`
asks the program's own dynamic loader (``<loader> --list <file>``, what
``ldd`` does) which shared libraries it resolves, through the runner.
"""

from __future__ import annotations

import os
import struct
import threading
from dataclasses import dataclass

from scitex_container.errors import ProcessError
from scitex_container.process import runner

PT_INTERP = 3
LISTING_TIMEOUT = 30.0

#: ``uname -m`` -> ELF e_machine, to spot programs built for another machine.
_MACHINES = {
    "x86_64": 62,
    "aarch64": 183,
    "i686": 3,
    "i386": 3,
    "ppc64le": 21,
    "s390x": 22,
    "riscv64": 243,
    "armv7l": 40,
}


@dataclass(frozen=True)
class FileKind:
    """``kind`` is ``elf``, ``script`` or ``other``.

    ``interpreter`` is the ELF loader (None for a static ELF) or the ``#!``
    line of a script (e.g. ``/usr/bin/perl -w``).
    """

    kind: str
    interpreter: str | None = None
    machine: int | None = None
    shared_object: bool = False


def host_machine() -> int | None:
    return _MACHINES.get(os.uname().machine)


def _elf(head: bytes, fh) -> FileKind:
    cls, data = head[4], head[5]
    endian = "<" if data == 1 else ">"
    if cls == 2:
        e_type, machine = struct.unpack_from(endian + "HH", head, 16)
        (phoff,) = struct.unpack_from(endian + "Q", head, 32)
        phentsize, phnum = struct.unpack_from(endian + "HH", head, 54)
    elif cls == 1:
        e_type, machine = struct.unpack_from(endian + "HH", head, 16)
        (phoff,) = struct.unpack_from(endian + "I", head, 28)
        phentsize, phnum = struct.unpack_from(endian + "HH", head, 42)
    else:
        return FileKind("other")
    interp = None
    for i in range(min(phnum, 256)):
        fh.seek(phoff + i * phentsize)
        ph = fh.read(phentsize)
        if len(ph) < phentsize or struct.unpack_from(endian + "I", ph, 0)[0] != PT_INTERP:
            continue
        if cls == 2:
            offset, size = (
                struct.unpack_from(endian + "Q", ph, 8)[0],
                struct.unpack_from(endian + "Q", ph, 32)[0],
            )
        else:
            offset, size = (
                struct.unpack_from(endian + "I", ph, 4)[0],
                struct.unpack_from(endian + "I", ph, 16)[0],
            )
        fh.seek(offset)
        interp = fh.read(min(size, 4096)).split(b"\0")[0].decode("utf-8", "replace") or None
        break
    # ET_DYN without a loader is a shared library (a module), not a program.
    return FileKind("elf", interp, machine, shared_object=e_type == 3 and interp is None)


def inspect(path: str | os.PathLike) -> FileKind:
    """Classify ``path`` (following links) from its first bytes."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
            if head[:4] == b"\x7fELF" and len(head) >= 58:
                return _elf(head, fh)
            if head[:2] == b"#!":
                fh.seek(0)
                line = fh.readline(512).decode("utf-8", "replace")[2:].strip()
                return FileKind("script", line or None)
    except (OSError, struct.error):
        pass
    return FileKind("other")


@dataclass(frozen=True)
class Listing:
    """The loader's answer for one file: ``(soname, host path)`` pairs."""

    libs: tuple[tuple[str, str], ...] = ()
    missing: tuple[str, ...] = ()
    error: str | None = None


def parse_listing(text: str) -> Listing:
    """Parse ``ld.so --list`` / ``ldd`` output."""
    libs: list[tuple[str, str]] = []
    missing: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if " => " in line:
            name, _, rest = line.partition(" => ")
            if rest.startswith("not found"):
                missing.append(name.strip())
            elif rest.startswith("/"):
                libs.append((name.strip(), rest.split(" (")[0].strip()))
    return Listing(tuple(libs), tuple(missing))


_cache: dict[tuple, Listing] = {}
_cache_lock = threading.Lock()


def loader_listing(path: str, loader: str) -> Listing:
    """The shared libraries ``loader`` resolves for ``path`` (cached while unchanged)."""
    try:
        st = os.stat(path)
    except OSError as exc:
        return Listing(error=f"cannot read {path}: {exc.strerror}")
    key = (path, loader, st.st_size, st.st_mtime_ns, st.st_ino)
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    try:
        done = runner.run(
            [loader, "--list", path],
            readonly=True,
            check=False,
            timeout=LISTING_TIMEOUT,
            env={"LC_ALL": "C"},
        )
    except (ProcessError, OSError) as exc:
        return Listing(error=f"`{loader} --list {path}` failed: {exc}")
    listing = parse_listing(done.stdout)
    if done.returncode != 0 and not listing.libs:
        last = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        listing = Listing(error=f"`{loader} --list {path}` failed: {last}")
    with _cache_lock:
        _cache[key] = listing
    return listing


_argv0: dict[str, bool] = {}


def loader_supports_argv0(loader: str) -> bool:
    """Whether ``loader`` takes ``--argv0`` (glibc >= 2.33, musl); asked once per loader."""
    if loader not in _argv0:
        try:
            done = runner.run(
                [loader, "--help"], readonly=True, check=False, timeout=LISTING_TIMEOUT
            )
            _argv0[loader] = "--argv0" in done.stdout + done.stderr
        except (ProcessError, OSError):
            _argv0[loader] = False
    return _argv0[loader]
