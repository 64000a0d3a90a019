"""Base for the frozen dataclasses the library returns.

``to_dict()`` gives a JSON-ready dict (paths as strings, tuples as lists,
nested results converted), which is what ``--json`` prints.
"""

from __future__ import annotations

import dataclasses
import enum
import os
from typing import Any


def jsonable(value: Any) -> Any:
    """Convert results, paths, enums and containers into JSON-ready values."""
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [jsonable(v) for v in value]
        return sorted(items) if isinstance(value, (set, frozenset)) else items
    return value


class Result:
    """Mixin for frozen dataclass results."""

    def to_dict(self) -> dict[str, Any]:
        return {
            f.name: jsonable(getattr(self, f.name))
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
            if not f.name.startswith("_")
        }
