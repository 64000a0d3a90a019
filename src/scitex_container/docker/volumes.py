"""Volume strings that mount development repositories into Compose services.

Each entry is ``{"host": ..., "container": ..., "mode": "ro"|"rw"}`` (mode
defaults to ``ro``; other keys are ignored).  A relative host path is kept
relative -- Compose resolves it against the compose file's directory -- but
written with a leading ``./`` so Compose can never read it as a named volume
(``"../../x"`` becomes ``"./../../x"``).  Absolute and ``~`` paths are kept
as they are.  The container path must be absolute; no path may contain
``:`` or ``,`` (the separators of volume and ``--mount`` strings) or a
newline.  A bad entry raises :class:`BadInputError` naming ``repos[i].key``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from scitex_container.errors import BadInputError

MODES = ("ro", "rw")
_FORBIDDEN = (":", ",", "\n", "\r", "\0")


def _path(entry: Mapping, key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, (str, os.PathLike)):
        got = "nothing" if value is None else type(value).__name__
        raise BadInputError(f"must be a path, got {got}", f"{where}.{key}")
    text = os.fspath(value)
    if not text:
        raise BadInputError("must not be empty", f"{where}.{key}")
    bad = next((c for c in _FORBIDDEN if c in text), None)
    if bad is not None:
        raise BadInputError(f"must not contain {bad!r}: {text!r}", f"{where}.{key}")
    return text


def compose_host_path(host: str) -> str:
    """Absolute, ``~`` and ``./``/``../`` paths as given (as the seed); other relative
    ones get a leading ``./`` (Compose would read a bare ``data`` as a named volume)."""
    if host.startswith(("/", "~", "./", "../")) or host in (".", ".."):
        return host
    return "./" + host


def get_dev_mounts(repos: Sequence[Mapping]) -> list[str]:
    """``host:container:mode`` volume strings, in the order given.

    Args:
        repos: Dev repositories, each ``{"host", "container", "mode"}`` (mode defaults
            to ``ro``).
    """
    if isinstance(repos, (str, bytes, Mapping)) or not isinstance(repos, Sequence):
        raise BadInputError(f"must be a list of mappings, got {type(repos).__name__}", "repos")
    mounts: list[str] = []
    for index, entry in enumerate(repos):
        where = f"repos[{index}]"
        if not isinstance(entry, Mapping):
            raise BadInputError(f"must be a mapping, got {type(entry).__name__}", where)
        host = _path(entry, "host", where)
        container = _path(entry, "container", where)
        if not container.startswith("/"):
            raise BadInputError(
                f"must be an absolute path, got {container!r}", f"{where}.container"
            )
        mode = entry.get("mode", "ro")
        mode = "ro" if mode is None else mode
        if mode not in MODES:
            raise BadInputError(f"must be 'ro' or 'rw', got {mode!r}", f"{where}.mode")
        mounts.append(f"{compose_host_path(host)}:{container}:{mode}")
    return mounts
