"""Apptainer container management: build, sandbox, versioning, command building."""

from .._lazy import lazy_exports

_EXPORTS = {
    "build": "scitex_container.apptainer.build:build",
    "cleanup": "scitex_container.apptainer.versions:cleanup",
    "cleanup_sandboxes": "scitex_container.apptainer.sandbox:cleanup_sandboxes",
    "cleanup_sifs": "scitex_container.apptainer.versions:cleanup_sifs",
    "deploy": "scitex_container.apptainer.deploy:deploy",
    "find_containers_dir": "scitex_container.apptainer.paths:find_containers_dir",
    "get_active_sandbox": "scitex_container.apptainer.sandbox:get_active_sandbox",
    "get_active_version": "scitex_container.apptainer.versions:get_active_version",
    "is_sandbox": "scitex_container.apptainer.versions:is_sandbox",
    "list_sandboxes": "scitex_container.apptainer.sandbox:list_sandboxes",
    "list_versions": "scitex_container.apptainer.versions:list_versions",
    "rollback": "scitex_container.apptainer.versions:rollback",
    "rollback_sandbox": "scitex_container.apptainer.sandbox:rollback_sandbox",
    "sandbox_configure_ps1": "scitex_container.apptainer.sandbox_ops:sandbox_configure_ps1",
    "sandbox_create": "scitex_container.apptainer.sandbox:sandbox_create",
    "sandbox_maintain": "scitex_container.apptainer.sandbox_ops:sandbox_maintain",
    "sandbox_to_sif": "scitex_container.apptainer.sandbox_ops:sandbox_to_sif",
    "sandbox_update": "scitex_container.apptainer.sandbox_ops:sandbox_update",
    "status": "scitex_container.apptainer.status:status",
    "switch_sandbox": "scitex_container.apptainer.sandbox:switch_sandbox",
    "switch_version": "scitex_container.apptainer.versions:switch_version",
    "detect_container_cmd": "scitex_container.apptainer.tool:detect_container_cmd",
    "Lock": "scitex_container.apptainer.lockfile:Lock",
    "LockDiff": "scitex_container.apptainer.compare:LockDiff",
    "compare_locks": "scitex_container.apptainer.compare:compare_locks",
    "capture_lock": "scitex_container.apptainer.capture:capture_lock",
    "freeze": "scitex_container.apptainer.capture:freeze",
    "read_lock": "scitex_container.apptainer.lockfile:read_lock",
    "verify": "scitex_container.apptainer.verify:verify",
    "write_lock": "scitex_container.apptainer.lockfile:write_lock",
    "generate_locked_def": "scitex_container.apptainer.pin:generate_locked_def",
    "build_reproducible": "scitex_container.apptainer.repro:build_reproducible",
    "verify_roundtrip": "scitex_container.apptainer.repro:verify_roundtrip",
    "check_verified": "scitex_container.apptainer.repro:check_verified",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
