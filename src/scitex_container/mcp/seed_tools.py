"""The seed server's tools that have no tool of ours under another name.

``container_deploy``, ``container_cleanup``, ``docker_restart`` and
``host_check`` keep the seed's names and arguments (``target_dir``,
``containers_dir``, ``keep``, ``env``) and run our commands (``deploy``,
``cleanup``, ``docker restart``, ``host check``).  A default the command
would pick by itself (the containers directory, the deploy target) is
confined to the server's roots like a given path.
"""

from __future__ import annotations

from scitex_container.mcp.tool_spec import COMPOSE_ENV, COMPOSE_PROJECT, DRY_NOTE, Param, ToolSpec

_DRY = DRY_NOTE

_SOURCE = Param(
    "store",
    "path",
    "The store to act on; default: the containers directory.",
    aliases=("containers_dir",),
    resolve_default="containers_dir",
)

_PROJECT = COMPOSE_PROJECT

SEED_ONLY: tuple[ToolSpec, ...] = (
    ToolSpec(
        "container_deploy",
        ("deploy",),
        "Copy the active image (and its newest base) to a shared directory and switch "
        f"there; files it already holds are not copied again. {_DRY}",
        (
            _SOURCE,
            Param(
                "target_dir",
                "path",
                "Deployment target (default: /opt/scitex/singularity, if within the roots).",
                resolve_default="deploy_target",
            ),
            Param("use_sudo", "bool", "Run the privileged step through sudo.", flag="--sudo"),
        ),
        mutating=True,
    ),
    ToolSpec(
        "container_cleanup",
        ("cleanup",),
        f"Remove old versions, keeping the newest `keep`; never the active or base ones. {_DRY}",
        (
            _SOURCE,
            Param("keep", "int", "Versions to keep.", flag="--keep", default=3),
        ),
        mutating=True,
    ),
    ToolSpec(
        "docker_restart",
        ("docker", "restart"),
        f"Take a Compose stack down, then up -d. {_DRY}",
        (
            COMPOSE_ENV,
            _PROJECT,
        ),
        mutating=True,
    ),
    ToolSpec(
        "container_skills_list",
        ("skills", "list"),
        "The skill pages bundled for agents (name and path of each).",
    ),
    ToolSpec(
        "container_skills_get",
        ("skills", "get"),
        "One skill page with its Markdown content.",
        (
            Param(
                "name",
                "text",
                "The page's name (e.g. 02_quick-start; .md optional).",
                required=True,
            ),
        ),
    ),
    ToolSpec(
        "host_check",
        ("host", "check"),
        "Which host package groups (TeX Live, ImageMagick) are installed, with versions.",
    ),
)
