"""Lazy attribute exports for package ``__init__`` modules.

A package maps each public name to ``"module:attribute"``; the module is
imported on first access, keeping ``import scitex_container`` (and the CLI's
start-up) cheap.
"""

from __future__ import annotations

import importlib


def lazy_exports(package: str, exports: dict[str, str]):  # -> (__getattr__, __dir__)
    def __getattr__(name: str):  # noqa: N807
        spec = exports.get(name)
        if spec is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module_name, attr = spec.split(":")
        value = getattr(importlib.import_module(module_name), attr)
        importlib.import_module(package).__dict__[name] = value
        return value

    def __dir__() -> list[str]:  # noqa: N807
        return sorted(exports)

    return __getattr__, __dir__
