"""Docker container management — rebuild, restart, status, and mount helpers."""

from scitex_container._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "rebuild": "scitex_container.docker.actions:rebuild",
    "restart": "scitex_container.docker.actions:restart",
    "status": "scitex_container.docker.actions:status",
    "up": "scitex_container.docker.actions:up",
    "down": "scitex_container.docker.actions:down",
    "logs": "scitex_container.docker.actions:logs",
    "get_dev_mounts": "scitex_container.docker.volumes:get_dev_mounts",
    "detect_engine": "scitex_container.docker.engine:detect_engine",
    "find_compose_file": "scitex_container.docker.compose_file:find_compose_file",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
