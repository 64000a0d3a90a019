"""What a def may reach on the host when an MCP client builds it.

The roots confine the paths a client names, but a def is a program: its
``%setup`` runs on the host as the server's user, and its ``%files`` copy
host files into the image.  So a def an MCP call would build is refused
when it has a ``%setup`` section (naming the section's line) or a
``%files`` source that, resolved as apptainer resolves it
(:func:`~scitex_container.apptainer.deffile.sources.host_sources`), lies
outside the roots, unless the server was started with ``--allow-host-def``
(:data:`~scitex_container.envvars.MCP_ALLOW_HOST_DEF`).  What a def can
still do (``%post`` runs in the container as the caller, with fakeroot) is
in the threat model.  Nothing here runs anything.
"""

from __future__ import annotations

import os

from scitex_container import envvars
from scitex_container.errors import BadInputError, DefFileError
from scitex_container.mcp.session_scope import inside


def host_def_allowed() -> bool:
    """Whether the server was started with ``--allow-host-def``."""
    return os.environ.get(envvars.MCP_ALLOW_HOST_DEF, "") == "1"


def check_def(path: str, allowed: list[str], field: str) -> None:
    """Refuse the def at ``path`` if it reaches the host outside ``allowed`` (see module)."""
    if host_def_allowed() or not path.endswith(".def") or not os.path.isfile(path):
        return
    from scitex_container.apptainer.deffile.files import parse_def
    from scitex_container.apptainer.deffile.sources import host_sources

    try:
        deffile = parse_def(path)
        sources = host_sources(deffile, strict=False)
    except DefFileError:
        return  # the command reports a malformed def as the CLI does
    for _, section in deffile.iter_sections():
        if section.name == "setup":
            raise BadInputError(
                f"{path}:{section.line}: %setup runs on the host; this server builds no "
                "def with %setup (start it with --allow-host-def to allow it)",
                field,
            )
    for src in sources:
        for host_path in src.paths:
            if not inside(str(host_path), allowed):
                raise BadInputError(
                    f"{path}:{src.line}: %files source `{host_path}` is outside the "
                    f"directories this server may touch ({', '.join(allowed)}; "
                    "--allow-host-def allows it)",
                    field,
                )
