"""Apptainer container management: build, sandbox, versioning, command building."""

from scitex_container._lazy import lazy_exports

_EXPORTS = {
    "build": "scitex_container.apptainer.building.versioned:build",
    "cleanup": "scitex_container.reference.store_versions:cleanup",
    "cleanup_sandboxes": "scitex_container.reference.sandboxes:cleanup_sandboxes",
    "cleanup_sifs": "scitex_container.reference.store_versions:cleanup_sifs",
    "deploy": "scitex_container.apptainer.store.deploy:deploy",
    "find_containers_dir": "scitex_container.apptainer.deffile.lookup:find_containers_dir",
    "get_active_sandbox": "scitex_container.reference.sandboxes:get_active_sandbox",
    "get_active_version": "scitex_container.reference.store_versions:get_active_version",
    "is_sandbox": "scitex_container.reference.store_versions:is_sandbox",
    "list_sandboxes": "scitex_container.reference.sandboxes:list_sandboxes",
    "list_versions": "scitex_container.reference.store_versions:list_versions",
    "rollback": "scitex_container.reference.store_versions:rollback",
    "rollback_sandbox": "scitex_container.reference.sandboxes:rollback_sandbox",
    "sandbox_configure_ps1": "scitex_container.apptainer.sandbox.maintenance:sandbox_configure_ps1",
    "sandbox_create": "scitex_container.apptainer.sandbox.create:sandbox_create",
    "sandbox_maintain": "scitex_container.apptainer.sandbox.maintenance:sandbox_maintain",
    "sandbox_to_sif": "scitex_container.apptainer.sandbox.maintenance:sandbox_to_sif",
    "sandbox_update": "scitex_container.apptainer.sandbox.maintenance:sandbox_update",
    "status": "scitex_container.apptainer.building.decision:status",
    "switch_sandbox": "scitex_container.reference.sandboxes:switch_sandbox",
    "switch_version": "scitex_container.reference.store_versions:switch_version",
    "detect_container_cmd": "scitex_container.apptainer.tool:detect_container_cmd",
    "build_dev_pythonpath": "scitex_container.apptainer.session.argv:build_dev_pythonpath",
    "build_exec_args": "scitex_container.apptainer.session.argv:build_exec_args",
    "build_host_mount_binds": "scitex_container.host.mounts:build_host_mount_binds",
    "build_instance_start_script": (
        "scitex_container.apptainer.session.sbatch_script:build_instance_start_script"
    ),
    "build_sbatch_command": "scitex_container.apptainer.session.sbatch_script:build_sbatch_command",
    "build_shell_in_allocation_command": (
        "scitex_container.apptainer.session.argv:build_shell_in_allocation_command"
    ),
    "build_srun_command": "scitex_container.apptainer.session.argv:build_srun_command",
    "job_instance_name": "scitex_container.apptainer.session.argv:job_instance_name",
    "Lock": "scitex_container.apptainer.lock.lockfile:Lock",
    "LockDiff": "scitex_container.apptainer.lock.compare:LockDiff",
    "compare_locks": "scitex_container.apptainer.lock.compare:compare_locks",
    "capture_lock": "scitex_container.apptainer.lock.capture:capture_lock",
    "freeze": "scitex_container.apptainer.lock.capture:freeze",
    "read_lock": "scitex_container.apptainer.lock.lockfile:read_lock",
    "verify": "scitex_container.apptainer.lock.verify_image:verify",
    "write_lock": "scitex_container.apptainer.lock.lockfile:write_lock",
    "generate_locked_def": "scitex_container.apptainer.lock.pin:generate_locked_def",
    "build_reproducible": "scitex_container.apptainer.repro.roundtrip:build_reproducible",
    "verify_roundtrip": "scitex_container.apptainer.repro.roundtrip:verify_roundtrip",
    "check_verified": "scitex_container.apptainer.repro.roundtrip:check_verified",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
