"""The command registry: names, modules and short help, importing nothing heavy.

Kept apart from :mod:`.main` (which imports click) so the fast ``--help``
path in :mod:`.entry` can list commands without importing click.
"""

from __future__ import annotations

ROOT_HELP = "scitex-container: build, version, verify and run Apptainer images and Compose stacks."

#: command name -> ("module:attribute", short help).  The short help is here so
#: that listing commands imports none of them.  Every entry must import
#: (``tests/cli/test_registry.py`` loads each one and compares the list with
#: the commands click exposes), so a typo fails loudly instead of hiding a command.
COMMANDS: dict[str, tuple[str, str]] = {
    "info": (
        "scitex_container.cli.info:info",
        "Show the container command, its version and host capabilities.",
    ),
    "build": ("scitex_container.cli.build:build", "Build a .def into a SIF image or sandbox."),
    "status": (
        "scitex_container.cli.store.status:status",
        "Show each .def, its image and whether it needs a rebuild.",
    ),
    "versions": ("scitex_container.cli.store.versions:versions", "List the versions of an image."),
    "switch": (
        "scitex_container.cli.store.switch:switch",
        "Make a version the active one (atomic).",
    ),
    "rollback": (
        "scitex_container.cli.store.rollback:rollback",
        "Switch back to the previous version.",
    ),
    "cleanup": (
        "scitex_container.cli.store.cleanup:cleanup",
        "Remove old versions, keeping the newest N.",
    ),
    "deploy": (
        "scitex_container.cli.store.deploy:deploy",
        "Copy the active image to a shared path.",
    ),
    "sandbox": (
        "scitex_container.cli.sandbox:sandbox",
        "Create, update, switch and convert sandboxes.",
    ),
    "cache": ("scitex_container.cli.cache:cache", "List and prune the stage cache of builds."),
    "lock": ("scitex_container.cli.lock:lock", "Capture, pin and compare package locks."),
    "repro": ("scitex_container.cli.repro:repro", "Run the reproducible round trip on a .def."),
    "verify": ("scitex_container.cli.verify:verify", "Verify an image against its def and lock."),
    "sbom": ("scitex_container.cli.sbom:sbom", "Export a CycloneDX SBOM of an image or lock."),
    "session": (
        "scitex_container.cli.session:session",
        "Start, list, attach to and stop container sessions.",
    ),
    "docker": ("scitex_container.cli.docker:docker", "Drive a Docker Compose stack."),
    "host": (
        "scitex_container.cli.host:host",
        "Check, install and mount host packages (TeX Live, ImageMagick).",
    ),
    "key": ("scitex_container.cli.key:key", "Make a PEM signing key pair."),
    "sign": ("scitex_container.cli.sign:sign", "Sign an image and its build statement."),
    "mcp": (
        "scitex_container.cli.mcp:mcp",
        "The MCP server for AI agents: doctor, list-tools, start.",
    ),
    "push": (
        "scitex_container.cli.push:push",
        "Push an image with its proof to an OCI registry (oras://).",
    ),
    "pull": (
        "scitex_container.cli.pull:pull",
        "Pull an image from an OCI registry, checked on arrival.",
    ),
    "bundle": (
        "scitex_container.cli.bundle:bundle",
        "Export and import signed bundles for air-gapped sites.",
    ),
    "snapshot": (
        "scitex_container.cli.snapshot:snapshot",
        "Record a provenance snapshot of host, image and repos.",
    ),
    # -- the seed's names (scitex_container.cli.seed): aliases of ours ---------------
    "apptainer": (
        "scitex_container.cli.seed.apptainer:apptainer",
        "The seed's group: build, freeze, list, switch, rollback, deploy, clean, verify.",
    ),
    "clean": ("scitex_container.cli.seed.clean:clean", "Alias of `cleanup` (the seed's name)."),
    "env-snapshot": (
        "scitex_container.cli.seed.env_snapshot:env_snapshot",
        "Alias of `snapshot` (the seed's name).",
    ),
    "freeze": (
        "scitex_container.cli.seed.freeze:freeze",
        "Alias of `lock freeze` (the seed's name).",
    ),
    "list": ("scitex_container.cli.seed.list:list_", "Alias of `versions` (the seed's name)."),
    "list-python-apis": (
        "scitex_container.cli.seed.list_python_apis:list_python_apis",
        "List the public Python API (the seed's command).",
    ),
    "save-env-snapshot": (
        "scitex_container.cli.seed.env_snapshot:save_env_snapshot",
        "Alias of `snapshot` (the seed's later name).",
    ),
    "skills": (
        "scitex_container.cli.skills:skills",
        "The skill pages for AI agents: list, get, install (the seed's command).",
    ),
    "show-status": (
        "scitex_container.cli.seed.show_status:show_status",
        "The seed's dashboard: Apptainer versions, host packages, Compose stacks.",
    ),
}

#: The root group's options as (term, help) rows, in click's order.  A test
#: checks that the fast help printed from these equals click's own output.
ROOT_OPTIONS: tuple[tuple[str, str], ...] = (
    ("--json", "Print machine-readable JSON on stdout."),
    (
        "--dry-run",
        "Show the commands that would run; change nothing (exit 1 if something would change).",
    ),
    ("-v, --verbose", "More output (-v logs every command run)."),
    ("-q, --quiet", "Only errors on stderr."),
    ("--help-recursive", "Show the help of every command and subcommand (the seed's option)."),
    ("-V, --version", "Show the version and exit."),
    ("-h, --help", "Show this message and exit."),
)


#: Options the seed never had: an argv using one is not the seed's spelling, so the
#: command runs as ours without loading the seed's (``verify IMAGE --key PUB`` starts lean).
OURS_ONLY_OPTIONS: dict[str, tuple[str, ...]] = {"verify": ("--key", "--keyring")}


def ours_only(name: str, args: tuple[str, ...]) -> bool:
    """Whether ``args`` of command ``name`` use an option only we have."""
    ours = OURS_ONLY_OPTIONS.get(name, ())
    return any(a.split("=")[0] in ours for a in args)
