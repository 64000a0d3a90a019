"""A cache of each command's `--help` text, so asking for help does not import click.

`scitex-container CMD --help` is rendered by click once; the text is kept in
the user's cache directory under a key made of the package version, the
terminal width, the command path and the size and mtime of every module
of ``cli/`` (a changed option invalidates it).  The next `--help` of that
command prints the kept text: :mod:`.entry` answers it without importing
click, the runner or the command.
"""

from __future__ import annotations

import contextlib
import os

_CLI_DIR = os.path.dirname(os.path.abspath(__file__))


def _key(path: list[str], width: int) -> str:
    """64 bits of checksums (zlib: no hashlib import on this path; not a security key)."""
    import zlib

    from scitex_container._version import __version__

    parts = [f"{__version__}\0{width}\0{' '.join(path)}\0"]
    for dirpath, dirnames, filenames in os.walk(_CLI_DIR):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in sorted(filenames):
            if name.endswith(".py"):
                st = os.stat(os.path.join(dirpath, name))
                parts.append(f"{dirpath}/{name}\0{st.st_mtime_ns}\0{st.st_size}\0")
    data = "".join(parts).encode()
    return f"{zlib.crc32(data):08x}{zlib.adler32(data):08x}"


def _file(path: list[str], width: int) -> str:
    from scitex_container import envvars

    base = os.path.join(envvars.user_cache_dir(), "scitex-container", "help")
    return os.path.join(base, _key(path, width) + ".txt")


def lookup(path: list[str], width: int) -> str | None:
    """The kept help text of ``path`` at ``width``, or None."""
    try:
        with open(_file(path, width), encoding="utf-8") as fh:
            return fh.read()
    except (OSError, UnicodeDecodeError):
        return None


def keep(path: list[str], width: int, text: str) -> None:
    """Keep ``text`` for the next time (best effort: a read-only cache is fine)."""
    from scitex_container.files.fsutil import atomic_write_text

    with contextlib.suppress(OSError):
        atomic_write_text(_file(path, width), text, mode=0o600)
