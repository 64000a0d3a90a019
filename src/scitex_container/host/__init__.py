"""Host package management — install, verify, and mount host-level tools."""

from scitex_container._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "check_packages": "scitex_container.host.check:check_packages",
    "get_mount_config": "scitex_container.host.mounts:get_mount_config",
    "get_texlive_binds": "scitex_container.host.mounts:get_texlive_binds",
    "install_packages": "scitex_container.host.install:install_packages",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
