"""Lazy attribute exports for the package ``__init__`` modules (PEP 562).

A package maps each public name to ``"module:attribute"``; the module is
imported on first access, keeping ``import scitex_container`` (and the CLI's
start-up) cheap.  No exported name is also the name of a submodule, so an
import of a submodule never shadows an exported function.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_exports(
    package: str, exports: dict[str, str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package`` exporting ``exports`` lazily."""

    def __getattr__(name: str) -> object:
        spec = exports.get(name)
        if spec is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module_name, attr = spec.split(":")
        value = getattr(importlib.import_module(module_name), attr)
        vars(importlib.import_module(package))[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__
