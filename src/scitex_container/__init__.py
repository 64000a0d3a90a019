"""scitex-container: Unified container management for Apptainer and Docker."""

from ._lazy import lazy_exports
from ._version import __version__

_EXPORTS = {
    "build": "scitex_container.apptainer.build:build",
    "verify": "scitex_container.apptainer.verify:verify",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = ["__version__", *sorted(_EXPORTS)]
