"""The one path validator of the package: absolute, printable, no separator characters.

Every path that ends up in an argv, a bind spec or a generated script is
checked here (session builders, bind mounts): it must be a string (or
path-like), absolute, free of control characters (a newline would split a
script line) and free of the characters the caller names in ``forbid``
(apptainer splits ``--bind`` on ``:`` and ``,``; sbatch expands ``%``).
"""

from __future__ import annotations

import os
import re

from scitex_container.errors import BadInputError

_CONTROL = re.compile("[\x00-\x1f\x7f]")


def no_control(text: str, field: str) -> None:
    """Refuse control characters and text that is not valid UTF-8."""
    found = _CONTROL.search(text)
    if found:
        ch = found.group()
        raise BadInputError(f"must not contain control character {ch!r}: {text!r}", field)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadInputError(f"is not valid UTF-8 text: {text!r}", field) from None


def abs_path(value: object, field: str, *, must_exist: bool = False, forbid: str = ":,") -> str:
    """An absolute path without control characters (nor ``forbid`` characters)."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise BadInputError(f"must be a path, got {type(value).__name__}", field)
    no_control(value, field)
    if not value.startswith("/"):
        raise BadInputError(f"must be an absolute path, got {value!r}", field)
    bad = [c for c in forbid if c in value]
    if bad:
        raise BadInputError(f"must not contain {bad[0]!r}: {value!r}", field)
    if must_exist and not os.path.lexists(value):
        raise BadInputError(f"does not exist: {value}", field)
    return value
