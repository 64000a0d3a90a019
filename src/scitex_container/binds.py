"""Validated bind mounts: one model for every ``--bind`` this package emits.

A bind is ``host:container:mode``.  Both paths are absolute, contain no ``:``
or ``,`` (apptainer's own separators) and no newline; mode is ``ro`` or
``rw``.  A host path must exist unless the caller says otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from scitex_container.errors import BadInputError
from scitex_container.paths import abs_path
from scitex_container.result import Result

MODES = ("ro", "rw")
#: The mode of a user's mount given without one (``/scratch:/scratch``): read-write,
#: as the seed had it (a site's existing config keeps its write access).
SPEC_DEFAULT_MODE = "rw"


def _check_path(value: object, field: str) -> str:
    text = abs_path(value, field, forbid=":,")
    return os.path.normpath(text) if text != "/" else text


@dataclass(frozen=True)
class BindSpec(Result):
    host: str
    container: str
    mode: str = "ro"

    def arg(self) -> str:
        """The value of one ``--bind`` option."""
        return f"{self.host}:{self.container}:{self.mode}"


def make_bind(
    host: object,
    container: object | None = None,
    mode: object = "ro",
    *,
    field: str = "bind",
    must_exist: bool = True,
) -> BindSpec:
    """Validate one bind; ``container`` defaults to the host path."""
    h = _check_path(host, f"{field}.host")
    c = _check_path(container if container not in (None, "") else h, f"{field}.container")
    m = mode if mode not in (None, "") else "ro"
    if m not in MODES:
        raise BadInputError(f"mode must be 'ro' or 'rw', got {m!r}", f"{field}.mode")
    if must_exist and not os.path.lexists(h):
        raise BadInputError(f"host path does not exist: {h}", f"{field}.host")
    return BindSpec(h, c, str(m))


def parse_bind_spec(spec: str, *, field: str = "bind", must_exist: bool = True) -> BindSpec:
    """Parse ``host[:container[:mode]]``; no mode is :data:`SPEC_DEFAULT_MODE` (rw)."""
    parts = spec.strip().split(":")
    if not parts[0] or len(parts) > 3:
        raise BadInputError(f"expected host[:container[:mode]], got {spec!r}", field)
    if len(parts) > 1 and parts[1] and not parts[1].startswith("/"):
        # "/data/a:b" would read as host /data/a, container "b"; say what is wrong.
        raise BadInputError(
            f"{spec!r}: the container path {parts[1]!r} must be an absolute path; "
            f"a host path that contains ':' cannot be bound (':' separates "
            f"host:container:mode in apptainer's --bind): rename or link it",
            field,
        )
    host = parts[0]
    container = parts[1] if len(parts) > 1 else None
    mode = parts[2] if len(parts) > 2 else SPEC_DEFAULT_MODE
    return make_bind(host, container, mode or SPEC_DEFAULT_MODE, field=field, must_exist=must_exist)


def bind_from_mapping(
    entry: Mapping, *, field: str = "host_mounts", must_exist: bool = True
) -> BindSpec:
    """A ``{host_path, container_path, mode}`` (or ``{host, container, mode}``) dict.

    No ``mode`` (or an empty one) is :data:`SPEC_DEFAULT_MODE` (rw), as in the seed.
    """
    if not isinstance(entry, Mapping):
        raise BadInputError(f"must be a mapping, got {type(entry).__name__}", field)
    host = entry.get("host_path", entry.get("host"))
    container = entry.get("container_path", entry.get("container"))
    mode = entry.get("mode") or SPEC_DEFAULT_MODE
    return make_bind(host, container, mode, field=field, must_exist=must_exist)


def bind_args(binds: Iterable[BindSpec]) -> list[str]:
    """Flat ``["--bind", spec, ...]``, de-duplicated, in order."""
    out: list[str] = []
    seen: set[str] = set()
    for bind in binds:
        if bind.arg() not in seen:
            seen.add(bind.arg())
            out += ["--bind", bind.arg()]
    return out
