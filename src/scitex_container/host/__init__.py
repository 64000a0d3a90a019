"""Host package management — install, verify, and mount host-level tools."""

from .._lazy import lazy_exports

_EXPORTS: dict[str, str] = {}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = sorted(_EXPORTS)
