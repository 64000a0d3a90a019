"""The tools the MCP server offers: each one a CLI command, its typed inputs and their schema.

A tool is declared once here as the command it runs (``("lock", "diff")``)
and its parameters; the JSON schema a client sees and the argv the tool
call builds both come from that declaration, so they cannot disagree.
The seed's ten tools (``status``, ``build``, ``list``, ``switch``,
``rollback``, ``sandbox_create``, ``docker_rebuild``, ``host_install``,
``env_snapshot``, ``verify``) keep their names and the seed's argument
names (``source_sif``, ``sif_path``, ``containers_dir``, ``dev_repos``...)
as aliases of ours.  Nothing here runs anything.
"""

from __future__ import annotations

from scitex_container.mcp.seed_tools import SEED_ONLY
from scitex_container.mcp.tool_spec import COMPOSE_ENV, COMPOSE_PROJECT, DRY_NOTE, Param, ToolSpec


def _store(required: bool = False) -> Param:
    return Param(
        "store",
        "path",
        "A store directory (or its active link); default: the containers directory.",
        required=required,
        aliases=("containers_dir",),
        resolve_default="containers_dir",
    )


_DRY = DRY_NOTE

#: The seed's ``use_sudo``: only when the caller asks for it (never by default).
_SUDO = Param("use_sudo", "bool", "Run the privileged step through sudo.", flag="--sudo")

TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        "status",
        ("show-status",),
        "The seed's dashboard: Apptainer versions, host packages, the dev/prod Compose stacks.",
        (
            Param(
                "containers_dir",
                "path",
                "The containers directory.",
                "--containers-dir",
                resolve_default="containers_dir",
            ),
            Param(
                "project_dir",
                "path",
                "Where the compose files are.",
                "--project-dir",
                resolve_default="cwd",
            ),
        ),
        seed_names=("container_status",),
    ),
    ToolSpec(
        "image_status",
        ("status",),
        "Each .def in the containers directory, its active image and whether it needs a rebuild.",
        (
            Param(
                "containers_dir",
                "path",
                "Directory of the .def files (default: found).",
                resolve_default="containers_dir",
            ),
            Param("output_dir", "path", "Where the images were built.", flag="--output-dir"),
        ),
    ),
    ToolSpec(
        "build",
        ("build",),
        f"Build a .def into a new version of its image (unchanged inputs: skipped). {_DRY}",
        (
            Param(
                "definition",
                "text",
                "A .def path, or a .def name in the containers directory.",
                aliases=("name",),
                default="scitex-final",
            ),
            Param("output_dir", "path", "Directory of the per-image folder.", flag="--output-dir"),
            Param("image_name", "text", "Image name (default: the .def's stem).", flag="--name"),
            Param("sandbox", "bool", "Build a sandbox directory instead of a SIF.", "--sandbox"),
            Param("force", "bool", "Rebuild even if the inputs did not change.", "--force"),
            Param("sign_key", "path", "PEM private key: sign before publishing.", flag="--sign"),
            Param(
                "base", "bool", "The seed's `base` (accepted; no effect, as in the seed).", "--base"
            ),
            _SUDO,
        ),
        mutating=True,
        seed_names=("container_build",),
    ),
    ToolSpec(
        "list",
        ("versions",),
        "The versions of an image, newest first, the active one marked (alias of `versions`).",
        (_store(),),
        seed_names=("container_list_versions",),
    ),
    ToolSpec("versions", ("versions",), "The versions of an image, newest first.", (_store(),)),
    ToolSpec(
        "switch",
        ("switch",),
        f"Make a version the active one (an atomic link switch; the site policy applies). {_DRY}",
        (Param("version", "text", "The version to activate.", required=True), _store(), _SUDO),
        mutating=True,
        seed_names=("container_switch",),
    ),
    ToolSpec(
        "rollback",
        ("rollback",),
        f"Switch back to the previous version (the site policy applies). {_DRY}",
        (_store(), _SUDO),
        mutating=True,
        seed_names=("container_rollback",),
    ),
    ToolSpec(
        "sandbox_create",
        ("sandbox", "create"),
        f"Build a sandbox from a .def, a SIF or a sandbox and make it current. {_DRY}",
        (
            Param(
                "source",
                "path",
                "The .def, .sif or sandbox.",
                required=True,
                aliases=("source_sif",),
            ),
            Param("containers_dir", "path", "Store directory.", flag="--dir"),
            Param("output_dir", "path", "Build exactly here instead.", flag="--output"),
            Param(
                "force",
                "bool",
                "The seed's force: accepted; an existing output_dir is refused all the same "
                "(nothing is overwritten).",
                flag="--force",
            ),
        ),
        mutating=True,
    ),
    ToolSpec(
        "docker_rebuild",
        ("docker", "rebuild"),
        f"Rebuild a Compose stack's images without cache and restart it. {_DRY}",
        (
            COMPOSE_ENV,
            COMPOSE_PROJECT,
        ),
        mutating=True,
    ),
    ToolSpec(
        "host_install",
        ("host", "install"),
        f"Install host packages (TeX Live, ImageMagick) with apt; no group chosen: all. {_DRY}",
        (
            Param("texlive", "bool", "A minimal TeX Live.", flag="--texlive"),
            Param("imagemagick", "bool", "ImageMagick.", flag="--imagemagick"),
            Param("all", "bool", "Every group (the default when none is chosen).", flag="--all"),
            Param("check", "bool", "Only check; install nothing.", flag="--check"),
            _SUDO,
        ),
        mutating=True,
        when_none=(("texlive", "imagemagick", "all"), "--all"),
    ),
    ToolSpec(
        "env_snapshot",
        ("snapshot",),
        "A provenance snapshot of the host, the active image and dev repositories.",
        (
            Param(
                "containers_dir",
                "path",
                "The containers directory.",
                "--containers-dir",
                resolve_default="containers_dir",
            ),
            Param("dev_repos", "paths", "Git repositories to record.", flag="--dev-repo"),
        ),
        seed_names=("container_env_snapshot",),
    ),
    ToolSpec(
        "verify",
        ("verify",),
        "Verify an image: sha256, def origin, its lock; with key/keyring its signature.",
        (
            Param(
                "image",
                "path",
                "The SIF (or store version) to verify; default: the active image of the "
                "containers directory (as the seed's).",
                aliases=("sif_path",),
                resolve_default="active_image",
            ),
            Param("def_path", "path", "The .def that should have built it.", flag="--def"),
            Param("lock_dir", "path", "Directory with the lock.", flag="--lock-dir"),
            Param("key", "path", "PEM public key: also check the signature.", flag="--key"),
            Param("keyring", "path", "Directory of *.pub/*.pem keys.", flag="--keyring"),
        ),
        seed_names=("container_verify",),
    ),
    ToolSpec(
        "lock_diff",
        ("lock", "diff"),
        "Compare two locks (or the locks of two images).",
        (
            Param("a", "path", "The first lock or image.", required=True),
            Param("b", "path", "The second lock or image.", required=True),
        ),
    ),
    ToolSpec(
        "repro",
        ("repro",),
        f"The reproducible round trip: build, lock, pin, rebuild, compare. {_DRY}",
        (
            Param("definition", "path", "The rough .def.", required=True),
            Param("output_dir", "path", "Where the images go.", flag="--output-dir"),
            Param("archive", "path", "Artifact archive for the locked rebuild.", "--archive"),
            Param("force", "bool", "Rebuild both images.", flag="--force"),
        ),
        mutating=True,
    ),
    ToolSpec(
        "session_start",
        ("session", "start"),
        f"Start a container session (SLURM or local; the site policy applies). {_DRY}",
        (
            Param("image", "path", "The image to run.", required=True),
            Param("project", "path", "Host project directory.", flag="--project", required=True),
            Param(
                "home",
                "path",
                "Host directory bound as the home (default: yours, as the CLI's; refused "
                "when outside the server's roots).",
                flag="--home",
                resolve_default="home",
            ),
            Param(
                "name",
                "text",
                "Instance base name: the instance becomes `<name>-<SLURM job id>` on SLURM, "
                "`<name>-<8 hex digits>` with `local`, unique per session (the result's "
                "`instance`); default `sx-<user>-<project>`.",
                flag="--name",
            ),
            Param("local", "bool", "Run here instead of through SLURM.", flag="--local"),
            Param("node", "text", "SLURM node.", flag="--node"),
            Param("constraint", "text", "SLURM node features.", flag="--constraint"),
            Param("partition", "text", "SLURM partition.", flag="--partition"),
            Param("no_wait", "bool", "Return once the job is submitted.", flag="--no-wait"),
        ),
        mutating=True,
    ),
    ToolSpec(
        "session_list",
        ("session", "list"),
        "Sessions and their state on each node (those whose project is inside the roots).",
    ),
    ToolSpec(
        "session_stop",
        ("session", "stop"),
        f"Stop a session (refused when its project is outside the roots). {_DRY}",
        (Param("session_id", "text", "The session's id.", required=True),),
        mutating=True,
    ),
    ToolSpec(
        "sign",
        ("sign",),
        f"Sign an image and its build statement. {_DRY}",
        (
            Param("image", "path", "The image.", required=True),
            Param("key", "path", "PEM private key.", flag="--key", required=True),
        ),
        mutating=True,
    ),
)

TOOLS += SEED_ONLY

BY_NAME: dict[str, ToolSpec] = {t.name: t for t in TOOLS}
#: The seed server's own tool names (``container_build``...) -> ours.
SEED_NAMES: dict[str, str] = {seed: t.name for t in TOOLS for seed in t.seed_names}


def find(name: str) -> ToolSpec | None:
    """The tool called ``name`` (ours or the seed server's name), or None."""
    return BY_NAME.get(SEED_NAMES.get(name, name))
