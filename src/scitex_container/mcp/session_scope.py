"""Sessions an MCP client may see and stop: those whose project directory is inside the roots.

A session records the host project directory it was started for; through
the server, ``session_list`` shows only the sessions whose project is under
the server's roots, and ``session_stop`` refuses (naming ``session_id``) a
session whose project is elsewhere, or one recorded before the project
directory was kept (its place cannot be told).  Nothing here runs anything.
"""

from __future__ import annotations

import os
from typing import Any

from scitex_container.errors import BadInputError, NotFoundError


def inside(path: str, allowed: list[str]) -> bool:
    """Whether ``path`` (resolved) is one of ``allowed`` or under one."""
    real = os.path.realpath(path)
    return any(real == r or real.startswith(r.rstrip("/") + "/") for r in allowed)


def check_stop(ref: str, allowed: list[str], field: str = "session_id") -> None:
    """Refuse to stop the session ``ref`` names when its project is outside ``allowed``.

    A ref that names no session (or several) is left to the command, which
    says so as the CLI does.
    """
    from scitex_container.apptainer.session import records

    try:
        record = records.find(ref)
    except (NotFoundError, BadInputError):
        return
    if not record.project_dir:
        raise BadInputError(
            f"session {record.id} has no recorded project directory: this server cannot "
            "tell it is inside its roots (stop it with the CLI)",
            field,
        )
    if not inside(record.project_dir, allowed):
        raise BadInputError(
            f"session {record.id}'s project `{record.project_dir}` is outside the "
            f"directories this server may touch ({', '.join(allowed)})",
            field,
        )


def visible(rows: Any, allowed: list[str]) -> Any:
    """The rows of ``session list`` whose session's project is inside ``allowed``."""
    if not isinstance(rows, list):
        return rows
    from scitex_container.apptainer.session import records

    dirs = {r.id: r.project_dir for r in records.all_records()}
    return [
        row
        for row in rows
        if isinstance(row, dict)
        and dirs.get(row.get("id", ""))
        and inside(dirs[row["id"]], allowed)
    ]
