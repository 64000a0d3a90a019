"""scitex-container: Unified container management for Apptainer and Docker."""

from ._lazy import lazy_exports
from ._version import __version__

_EXPORTS = {
    "build": "scitex_container.apptainer.build:build",
    "cleanup": "scitex_container.apptainer.versions:cleanup",
    "deploy": "scitex_container.apptainer.deploy:deploy",
    "docker_rebuild": "scitex_container.docker.ops:rebuild",
    "docker_restart": "scitex_container.docker.ops:restart",
    "env_snapshot": "scitex_container.host.snapshot:env_snapshot",
    "host_check": "scitex_container.host.check:check_packages",
    "host_install": "scitex_container.host.install:install_packages",
    "list_versions": "scitex_container.apptainer.versions:list_versions",
    "rollback": "scitex_container.apptainer.versions:rollback",
    "sandbox_create": "scitex_container.apptainer.sandbox:sandbox_create",
    "status": "scitex_container.apptainer.status:status",
    "switch": "scitex_container.apptainer.versions:switch",
    "verify": "scitex_container.apptainer.verify:verify",
    "build_reproducible": "scitex_container.apptainer.repro:build_reproducible",
    "verify_roundtrip": "scitex_container.apptainer.repro:verify_roundtrip",
    "check_verified": "scitex_container.apptainer.repro:check_verified",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = ["__version__", *sorted(_EXPORTS)]
