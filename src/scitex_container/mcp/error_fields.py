"""The tool field an error of the command itself is about.

A command refuses bad input naming *its* location (``--output``,
``slurm_partition``, ``instance_name``, ``containers dir``, a def's
``file:line``); a client knows only the tool's field names.  The CLI's JSON
error carries that location as ``where``; :func:`tool_field` maps it to the
field the client gave (its own spelling: ``sif_path`` if it used the seed's
name), so the JSON-RPC error's ``data.field`` and message name it.
"""

from __future__ import annotations

import os
from typing import Any

from scitex_container.mcp.tool_spec import Param, ToolSpec

#: The library's names of a location -> the tool field that carries it.
_LIBRARY = {
    "slurm_partition": "partition",
    "slurm_node": "node",
    "slurm_nodelist": "node",
    "slurm_constraint": "constraint",
    "instance_name": "name",
    "container_path": "image",
    "host_project_dir": "project",
    "project_dir": "project",
    "host_home_dir": "home",
    "home_dir": "home",
    "session": "session_id",
    "sif_path": "image",
    "def_path": "definition",
}
#: Locations that stand for what a parameter resolves by default.
_DEFAULTS = {"containers dir": "containers_dir"}


def _norm(text: str) -> str:
    return text.strip().lstrip("-").lower().replace("-", "_").replace(" ", "_")


def _spelled(p: Param, arguments: dict[str, Any]) -> str:
    """The name the client used for ``p`` (an alias if it gave that)."""
    return next((n for n in (p.name, *p.aliases) if n in arguments), p.name)


def _is_at(where: str, value: Any) -> bool:
    """Whether the location ``where`` (a path, or ``path:line``) is the path ``value``."""
    if not isinstance(value, str) or not value:
        return False
    path = os.path.abspath(value)
    return any(w == path or w.startswith(path + ":") for w in (where, os.path.realpath(where)))


def tool_field(spec: ToolSpec, where: str | None, arguments: dict[str, Any]) -> str | None:
    """The field of ``spec`` the command's error location ``where`` is about, or None."""
    if not where:
        return None
    norm = _norm(where)
    for p in spec.params:
        flag = _norm(p.flag) if p.flag else None
        if norm in (p.name, *p.aliases) or norm == flag:
            return _spelled(p, arguments)
    wanted = _LIBRARY.get(norm)
    for p in spec.params:
        if wanted in (p.name, *p.aliases):
            return _spelled(p, arguments)
    default = _DEFAULTS.get(where.strip().lower())
    for p in spec.params:
        if default is not None and p.resolve_default == default:
            return _spelled(p, arguments)
    for p in spec.params:
        if p.kind in ("path", "text") and _is_at(where, arguments.get(_spelled(p, arguments))):
            return _spelled(p, arguments)
    return None
