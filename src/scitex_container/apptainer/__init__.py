"""Apptainer container management: build, sandbox, versioning, command building."""

from .._lazy import lazy_exports

_EXPORTS = {
    "build": "scitex_container.apptainer.build:build",
    "detect_container_cmd": "scitex_container.apptainer.tool:detect_container_cmd",
    "build_dev_pythonpath": "scitex_container.apptainer.exec_args:build_dev_pythonpath",
    "build_exec_args": "scitex_container.apptainer.exec_args:build_exec_args",
    "build_host_mount_binds": "scitex_container.apptainer.binds:build_host_mount_binds",
    "build_instance_start_script": "scitex_container.apptainer.sbatch:build_instance_start_script",
    "build_sbatch_command": "scitex_container.apptainer.sbatch:build_sbatch_command",
    "build_shell_in_allocation_command": "scitex_container.apptainer.exec_args:build_shell_in_allocation_command",
    "build_srun_command": "scitex_container.apptainer.exec_args:build_srun_command",
    "Lock": "scitex_container.apptainer.lockfile:Lock",
    "LockDiff": "scitex_container.apptainer.compare:LockDiff",
    "compare_locks": "scitex_container.apptainer.compare:compare_locks",
    "capture_lock": "scitex_container.apptainer.capture:capture_lock",
    "freeze": "scitex_container.apptainer.capture:freeze",
    "read_lock": "scitex_container.apptainer.lockfile:read_lock",
    "verify": "scitex_container.apptainer.verify:verify",
    "write_lock": "scitex_container.apptainer.lockfile:write_lock",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
