"""scitex-container: Unified container management for Apptainer and Docker."""

from scitex_container._lazy import lazy_exports
from scitex_container._version import __version__

_EXPORTS = {
    "build": "scitex_container.apptainer.building.versioned:build",
    "cleanup": "scitex_container.reference.store_versions:cleanup",
    "deploy": "scitex_container.apptainer.store.deploy:deploy",
    "docker_rebuild": "scitex_container.docker.actions:rebuild",
    "docker_restart": "scitex_container.docker.actions:restart",
    "env_snapshot": "scitex_container.host.snapshot:env_snapshot",
    "host_check": "scitex_container.host.check:check_packages",
    "host_install": "scitex_container.host.install:install_packages",
    "list_versions": "scitex_container.reference.store_versions:list_versions",
    "rollback": "scitex_container.reference.store_versions:rollback",
    "sandbox_create": "scitex_container.apptainer.sandbox.create:sandbox_create",
    "status": "scitex_container.apptainer.building.decision:status",
    "switch": "scitex_container.reference.store_versions:switch",
    "verify": "scitex_container.apptainer.lock.verify_image:verify",
    "build_reproducible": "scitex_container.apptainer.repro.roundtrip:build_reproducible",
    "verify_roundtrip": "scitex_container.apptainer.repro.roundtrip:verify_roundtrip",
    "check_verified": "scitex_container.apptainer.repro.roundtrip:check_verified",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = ["__version__", *sorted(_EXPORTS)]
