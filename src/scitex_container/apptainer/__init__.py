"""Apptainer container management: build, sandbox, versioning, command building."""

from .._lazy import lazy_exports

_EXPORTS = {
    "build": "scitex_container.apptainer.build:build",
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
