"""Lazy attribute exports for package ``__init__`` modules.

A package maps each public name to ``"module:attribute"``; the module is
imported on first access, keeping ``import scitex_container`` (and the CLI's
start-up) cheap.
"""

from __future__ import annotations

import importlib
import sys
import types


class _ExportingModule(types.ModuleType):
    """A package whose exported names win over same-named submodules.

    Importing ``pkg.build`` (the module) sets ``pkg.build`` as a side effect;
    when ``build`` is also an exported function, that would shadow it for
    every later ``pkg.build(...)`` call.  Such assignments are ignored.
    """

    def __setattr__(self, name: str, value: object) -> None:
        exports = self.__dict__.get("_lazy_exports", {})
        if name in exports and isinstance(value, types.ModuleType):
            if value.__name__ == f"{self.__name__}.{name}":
                return
        super().__setattr__(name, value)


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

    module = sys.modules.get(package)
    if module is not None and type(module) is types.ModuleType:
        module.__dict__["_lazy_exports"] = exports
        module.__class__ = _ExportingModule
    return __getattr__, __dir__
