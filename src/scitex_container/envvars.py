"""Names of every environment variable the package reads, in one place.

Nothing else reads ``os.environ`` by a literal name (``tests/test_architecture.py``
checks this); :func:`user_cache_dir` is the one reading of the cache directory.
"""

import os

#: Container command to use instead of `apptainer` / `singularity` (a name or path).
CONTAINER_CMD = "SCITEX_CONTAINER_CMD"
#: Compose command to use, e.g. "podman-compose" or "docker compose".
COMPOSE_CMD = "SCITEX_CONTAINER_COMPOSE"
#: Any non-empty value: the CLI prints tracebacks for errors.
DEBUG = "SCITEX_CONTAINER_DEBUG"
#: Directory searched first for .def files (before ./containers).
CONTAINERS_DIR = "SCITEX_CONTAINER_DIR"
#: Prompt inside sandbox sessions (read by the snippet sandbox_configure_ps1 writes).
APPTAINER_PS1 = "SCITEX_CLOUD_APPTAINER_PS1"
#: Directory of session records (default ~/.scitex/sessions).
SESSIONS_DIR = "SCITEX_CONTAINER_SESSIONS_DIR"
#: Host directory for the launchers of bound host programs (default: a cache dir).
HOST_WRAPPERS = "SCITEX_CONTAINER_HOST_WRAPPERS"
#: Password of an encrypted PEM private key given to `sign --key` / `build --sign`.
KEY_PASSWORD = "SCITEX_CONTAINER_KEY_PASSWORD"
#: Site policy file (default /etc/scitex-container/policy.toml).
POLICY = "SCITEX_CONTAINER_POLICY"
#: Directories an MCP client may name paths under (os.pathsep-separated; default: the
#: server's working directory).  A path outside them is refused before anything runs.
MCP_ROOTS = "SCITEX_CONTAINER_MCP_ROOTS"
#: "1" (set by `scitex-container-mcp --allow-host-def`): MCP builds accept a def with
#: `%setup` or with `%files` sources outside the roots (default: refused).
MCP_ALLOW_HOST_DEF = "SCITEX_CONTAINER_MCP_ALLOW_HOST_DEF"
#: "0": `build` builds cold unless `--cache` (default: on; `repro` is always cold).
STAGE_CACHE = "SCITEX_CONTAINER_STAGE_CACHE"
#: Directory of the stage cache (default: $XDG_CACHE_HOME/scitex-container/stages).
STAGE_CACHE_DIR = "SCITEX_CONTAINER_STAGE_CACHE_DIR"
#: Size cap of the stage cache before least-recently-used eviction (e.g. 50G; default 20G).
STAGE_CACHE_MAX_SIZE = "SCITEX_CONTAINER_STAGE_CACHE_MAX_SIZE"

# -- standard variables we honour --------------------------------------------
#: Fixes "now" in generated files (reproducible builds convention).
SOURCE_DATE_EPOCH = "SOURCE_DATE_EPOCH"
#: The user's cache directory (XDG base directory spec); default ~/.cache.
XDG_CACHE_HOME = "XDG_CACHE_HOME"
#: Compose's own project name variable, honoured as Compose does.
COMPOSE_PROJECT_NAME = "COMPOSE_PROJECT_NAME"
#: The executable search path.
PATH = "PATH"
#: The terminal width help text is wrapped to (as shutil and click read it).
COLUMNS = "COLUMNS"


def user_cache_dir() -> str:
    """``$XDG_CACHE_HOME``, else ``~/.cache`` (a relative value is invalid: the XDG spec
    says to ignore it)."""
    given = os.environ.get(XDG_CACHE_HOME, "")
    return given if os.path.isabs(given) else os.path.join(os.path.expanduser("~"), ".cache")


#: Prefixes of host variables apptainer passes into the container, ``%post`` of a build included.
CONTAINER_ENV_PREFIXES = ("APPTAINERENV_", "SINGULARITYENV_")


#: Host variables apptainer (1.4.5, ``internal/pkg/util/env/create.go``: ``alwaysPassKeys``)
#: passes into every container as they are, ``%post`` of a build included.
CONTAINER_PASS_KEYS = (
    "TERM",
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "no_proxy",
    "NO_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "ftp_proxy",
    "FTP_PROXY",
)


#: Apptainer's own variables that cannot change what a build's ``%post`` sees (where its
#: caches, temporary files and credentials live, how much it logs, and what it sets inside a
#: container our command may itself run in).  Any other ``APPTAINER_*``/``SINGULARITY_*``
#: set on the host (``BIND``, ``MOUNT``, ``CONTAINLIBS``, ``NV``, ``NO_MOUNT``,
#: ``CONTAIN``...) may show %post host files no stage key holds: such a build is not cached.
CONTAINER_BUILD_INERT = frozenset(
    f"{prefix}_{name}"
    for prefix in ("APPTAINER", "SINGULARITY")
    for name in (
        "TMPDIR",
        "CACHEDIR",
        "CONFIGDIR",
        "DISABLE_CACHE",
        "NOHTTPS",
        "DOCKER_USERNAME",
        "DOCKER_PASSWORD",
        "DOCKER_LOGIN",
        "LIBRARY",
        "KEYSERVER",
        "SILENT",
        "QUIET",
        "VERBOSE",
        "DEBUG",
        "MESSAGELEVEL",
        "NOCOLOR",
        "COLOR",
        "CONTAINER",
        "NAME",
        "COMMAND",
        "ENVIRONMENT",
        "APPNAME",
    )
)


def container_build_vars() -> dict[str, str]:
    """Apptainer's variables set on this host that may change what a build's ``%post`` sees
    (all ``APPTAINER_*``/``SINGULARITY_*`` but :data:`CONTAINER_BUILD_INERT` and the
    forwarded ``APPTAINERENV_*``, which the stage keys hold)."""
    return {
        k: v
        for k, v in os.environ.items()
        if k.startswith(("APPTAINER_", "SINGULARITY_"))
        and k not in CONTAINER_BUILD_INERT
        and v.strip()
    }


def container_env() -> dict[str, str]:
    """The host variables apptainer forwards into a build's ``%post``: by prefix
    (``APPTAINERENV_*``) and by name (:data:`CONTAINER_PASS_KEYS`)."""
    return {
        k: v
        for k, v in os.environ.items()
        if k.startswith(CONTAINER_ENV_PREFIXES) or k in CONTAINER_PASS_KEYS
    }
