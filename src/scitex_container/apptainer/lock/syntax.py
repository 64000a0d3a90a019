"""The syntax of lock entries: pip freeze lines, npm JSON, the pip name map.

Shared by the lock file parser and the captures, which read the same lines
out of images.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

_PIP_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_PIP_PINNED_RE = re.compile(rf"^({_PIP_NAME})\s*(===?)\s*(\S+)$")
_PIP_DIRECT_RE = re.compile(rf"^({_PIP_NAME})\s*(\[[^\]]*\])?\s*@\s*(\S.*)$")
_PIP_RAW_RE = re.compile(r"^(?:-e|--editable)\s+\S.*$|^(?:git|hg|svn|bzr)\+\S+$")
#: A local path or file URL line (``./localdir``, ``/opt/w/x.whl``, ``file:...``),
#: which the seed's capture kept as a raw key.
_PIP_PATH_RE = re.compile(r"^(?:\.{1,2}/|/|~/|file:)\S*$")
_PIP_BARE_RE = re.compile(rf"^{_PIP_NAME}$")
_PIP_NAME_RE = re.compile(_PIP_NAME)


def normalize_pip_version(version: str) -> str:
    """The version as ``pip freeze`` prints it (PEP 440 normal form when valid)."""
    version = version.strip()
    try:
        return str(Version(version))
    except InvalidVersion:
        return version


def pip_entry(line: str) -> tuple[str, str]:
    """``(key, version)`` of one ``pip freeze`` line, or raise ValueError.

    ``name==1.0`` gives ``("name", "1.0")``; an editable, VCS or URL line
    gives ``(line with a canonical name, "")``; so do a local path line
    (``./localdir``) and a bare name (how the seed writes an empty version).
    """
    line = line.strip()
    if m := _PIP_PINNED_RE.match(line):
        return canonicalize_name(m.group(1)), normalize_pip_version(m.group(3))
    if m := _PIP_DIRECT_RE.match(line):
        extras = m.group(2) or ""
        return f"{canonicalize_name(m.group(1))}{extras} @ {m.group(3).strip()}", ""
    if _PIP_RAW_RE.match(line) or _PIP_PATH_RE.match(line):
        return " ".join(line.split()), ""
    if _PIP_BARE_RE.match(line):  # the seed writes a name with an empty version bare
        return canonicalize_name(line), ""
    raise ValueError(f"not a pip requirement line: {line!r}")


def node_versions(node_json: str) -> dict[str, str]:
    """``{name: version}`` of the ``dependencies`` of npm's JSON (``{}`` if none)."""
    if not node_json.strip():
        return {}
    data = json.loads(node_json)
    deps = data.get("dependencies", {}) if isinstance(data, dict) else {}
    out: dict[str, str] = {}
    if isinstance(deps, dict):
        for name, info in deps.items():
            if isinstance(info, dict) and info.get("version") is not None:
                out[str(name)] = str(info["version"])
    return dict(sorted(out.items()))


def node_json_from_versions(versions: Mapping[str, str]) -> str:
    """The canonical ``[node]`` JSON for a ``{name: version}`` map ("" if empty)."""
    if not versions:
        return ""
    deps = {name: {"version": versions[name]} for name in sorted(versions)}
    return canonical_node_json(json.dumps({"dependencies": deps}))


def canonical_node_json(text: str) -> str:
    """npm's JSON reduced to what identifies the versions, keys sorted.

    Only ``dependencies.<name>.version`` is kept: the rest of npm's output
    (``name``, ``problems``, ``overridden``...) varies between npm versions
    and capture methods without changing what is installed.
    """
    versions = node_versions(text)
    if not versions:
        return ""
    deps = {name: {"version": v} for name, v in versions.items()}
    return json.dumps({"dependencies": deps}, indent=2, sort_keys=True)


def sorted_map(values: Mapping[str, str] | Iterable[tuple[str, str]] | None) -> dict[str, str]:
    items = values.items() if isinstance(values, Mapping) else (values or ())
    return {str(k): str(v) for k, v in sorted(items)}


class PipMap(dict):
    """``{canonical name: version}`` that also answers to the raw name.

    Keys are stored canonical (``typing-extensions``) so comparisons are
    normalized, but ``m["typing_extensions"]`` finds the same entry, the way
    a user of the seed's lock (which kept raw names) looks packages up.
    Raw ``pip freeze`` lines (editable, VCS, URL, local path) are kept as is.
    """

    @staticmethod
    def key(name: object) -> str:
        name = str(name)
        return canonicalize_name(name) if _PIP_NAME_RE.fullmatch(name) else name

    def __init__(self, values: Mapping[str, str] | Iterable[tuple[str, str]] | None = None):
        super().__init__()
        self.update(values or ())

    def __getitem__(self, name: object) -> str:
        return super().__getitem__(self.key(name))

    def __setitem__(self, name: object, version: object) -> None:
        super().__setitem__(self.key(name), str(version))

    def __delitem__(self, name: object) -> None:
        super().__delitem__(self.key(name))

    def __contains__(self, name: object) -> bool:
        return super().__contains__(self.key(name))

    def get(self, name: object, default: Any = None) -> Any:
        return super().get(self.key(name), default)

    def pop(self, name: object, *default: Any) -> Any:
        return super().pop(self.key(name), *default)

    def setdefault(self, name: object, default: Any = "") -> Any:
        return super().setdefault(self.key(name), str(default))

    def update(self, *args: Any, **kwargs: Any) -> None:
        for values in (*args, kwargs):
            items = values.items() if isinstance(values, Mapping) else values
            for name, version in items:
                self[name] = version

    def __ior__(self, other: Any) -> PipMap:  # type: ignore[misc]
        self.update(other)
        return self

    def copy(self) -> PipMap:
        return PipMap(self)


def node_text(value: object) -> str:
    """Canonical ``[node]`` JSON; text that is no JSON object means no packages."""
    try:
        return canonical_node_json(str(value or ""))
    except ValueError:
        return ""
