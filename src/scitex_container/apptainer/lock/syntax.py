"""The syntax of lock entries: pip freeze lines, npm JSON, the pip name map.

Shared by the lock file parser and the captures, which read the same lines
out of images.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, KeysView, Mapping
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
    """The version in PEP 440 normal form when valid (``1.0RC1`` -> ``1.0rc1``).

    Used to *compare* versions; a lock keeps the text it was given.
    """
    version = version.strip()
    try:
        return str(Version(version))
    except InvalidVersion:
        return version


def pip_entry(line: str) -> tuple[str, str]:
    """``(key, version)`` of one ``pip freeze`` line as written, or raise ValueError.

    ``Name==1.0RC1`` gives ``("Name", "1.0RC1")``: the name and the version
    text are kept exactly (comparisons normalize them, see
    :func:`pip_identity`).  An arbitrary-equality pin keeps its third ``=``
    in the version, as the seed's split at the first ``==`` does:
    ``foo===1.0-custom`` gives ``("foo", "=1.0-custom")`` and is written
    back as ``foo===1.0-custom``.  An editable, VCS, URL or local path line, and a
    bare name (how the seed writes an empty version), give ``(line, "")``.
    """
    line = line.strip()
    if m := _PIP_PINNED_RE.match(line):
        return m.group(1), ("=" if m.group(2) == "===" else "") + m.group(3)
    if _PIP_DIRECT_RE.match(line) or _PIP_RAW_RE.match(line) or _PIP_PATH_RE.match(line):
        return line, ""
    if _PIP_BARE_RE.match(line):
        return line, ""
    raise ValueError(f"not a pip requirement line: {line!r}")


def pip_identity(key: object) -> str:
    """What decides that two pip keys name the same entry.

    A name is canonicalized (``Typing_Extensions`` -> ``typing-extensions``);
    a direct-URL line ``Name[extra] @ URL`` gets a canonical name and keeps
    its URL; other raw lines (editable, VCS, paths) compare with their
    whitespace collapsed.
    """
    key = " ".join(str(key).split())
    if _PIP_NAME_RE.fullmatch(key):
        return canonicalize_name(key)
    if m := _PIP_DIRECT_RE.match(key):
        extras = (m.group(2) or "").replace(" ", "").lower()
        return f"{canonicalize_name(m.group(1))}{extras} @ {m.group(3).strip()}"
    return key


def canonical_pip_entry(key: str, version: str) -> tuple[str, str]:
    """A captured entry in the form our captures write: canonical name, normal version."""
    if _PIP_NAME_RE.fullmatch(key):
        return canonicalize_name(key), normalize_pip_version(version) if version else ""
    if _PIP_DIRECT_RE.match(key):
        return pip_identity(key), version
    return " ".join(key.split()), version


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
    """``{key as written: version as written}`` that answers to every spelling.

    Keys and versions are kept exactly as they were given or read
    (``Typing_Extensions``, ``Django @ file:///w/Django-5.0.whl``, ``1.0RC1``),
    so what is shown is what the user wrote; a lookup by any key with the
    same :func:`pip_identity` finds the entry (the seed's lower-case keys,
    canonical names, the raw name).  Setting a key whose identity is present
    replaces that entry's version and keeps its first spelling.
    """

    @staticmethod
    def key(name: object) -> str:
        """The identity of ``name`` (kept for callers; see :func:`pip_identity`)."""
        return pip_identity(name)

    def __init__(self, values: Mapping[str, str] | Iterable[tuple[str, str]] | None = None):
        super().__init__()
        self.update(values or ())

    def _ids(self) -> dict[str, str]:
        ids = self.__dict__.get("_idx")
        if ids is None or len(ids) != dict.__len__(self):
            ids = {pip_identity(k): k for k in dict.keys(self)}
            self.__dict__["_idx"] = ids
        return ids

    def raw_key(self, name: object) -> str | None:
        """The key as stored for ``name`` (any spelling), or None."""
        name = str(name)
        if dict.__contains__(self, name):
            return name
        return self._ids().get(pip_identity(name))

    def __getitem__(self, name: object) -> str:
        raw = self.raw_key(name)
        if raw is None:
            raise KeyError(name)
        return dict.__getitem__(self, raw)

    def __setitem__(self, name: object, version: object) -> None:
        raw = self.raw_key(name)
        if raw is None:
            raw = str(name)
            self._ids()[pip_identity(raw)] = raw
        dict.__setitem__(self, raw, str(version))

    def __delitem__(self, name: object) -> None:
        raw = self.raw_key(name)
        if raw is None:
            raise KeyError(name)
        self._ids().pop(pip_identity(raw), None)
        dict.__delitem__(self, raw)

    def __contains__(self, name: object) -> bool:
        return self.raw_key(name) is not None

    def get(self, name: object, default: Any = None) -> Any:
        raw = self.raw_key(name)
        return default if raw is None else dict.__getitem__(self, raw)

    def pop(self, name: object, *default: Any) -> Any:
        raw = self.raw_key(name)
        if raw is None:
            if default:
                return default[0]
            raise KeyError(name)
        self._ids().pop(pip_identity(raw), None)
        return dict.pop(self, raw)

    def popitem(self) -> tuple[str, str]:
        item = dict.popitem(self)
        self.__dict__.pop("_idx", None)
        return item

    def clear(self) -> None:
        dict.clear(self)
        self.__dict__.pop("_idx", None)

    def setdefault(self, name: object, default: Any = "") -> Any:
        if name not in self:
            self[name] = default
        return self[name]

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

    def keys(self) -> _IdentityKeys:  # type: ignore[override]
        """The keys as written; ``in`` answers to every spelling."""
        return _IdentityKeys(self)


def version_key_identity(key: object) -> str:
    """The identity of a flat version-set key (``pip:Name`` -> ``pip:name``)."""
    key = str(key)
    manager, sep, name = key.partition(":")
    if sep and manager == "pip":
        return "pip:" + pip_identity(name)
    return key


class VersionSet(dict):
    """A flat ``{"pip:<key>"|"dpkg:<name>"|...: version}`` map as written.

    A lookup by any spelling of a pip key works (``pip:typing_extensions``
    finds ``pip:typing-extensions``); keys and versions shown are the lock's.
    """

    def _ids(self) -> dict[str, str]:
        ids = self.__dict__.get("_idx")
        if ids is None or len(ids) != dict.__len__(self):
            ids = {version_key_identity(k): k for k in dict.keys(self)}
            self.__dict__["_idx"] = ids
        return ids

    def raw_key(self, key: object) -> str | None:
        key = str(key)
        if dict.__contains__(self, key):
            return key
        return self._ids().get(version_key_identity(key))

    def __getitem__(self, key: object) -> Any:
        raw = self.raw_key(key)
        if raw is None:
            raise KeyError(key)
        return dict.__getitem__(self, raw)

    def __contains__(self, key: object) -> bool:
        return self.raw_key(key) is not None

    def get(self, key: object, default: Any = None) -> Any:
        raw = self.raw_key(key)
        return default if raw is None else dict.__getitem__(self, raw)

    def keys(self) -> _IdentityKeys:  # type: ignore[override]
        """The keys as written; ``in`` answers to every spelling."""
        return _IdentityKeys(self)

    def __setitem__(self, key: object, value: Any) -> None:
        self.__dict__.pop("_idx", None)
        dict.__setitem__(self, key, value)

    def __delitem__(self, key: object) -> None:
        raw = self.raw_key(key)
        self.__dict__.pop("_idx", None)
        dict.__delitem__(self, key if raw is None else raw)

    def pop(self, key: object, *default: Any) -> Any:
        raw = self.raw_key(key)
        self.__dict__.pop("_idx", None)
        return dict.pop(self, key if raw is None else raw, *default)


class _IdentityKeys(KeysView):
    """A keys view whose ``in`` goes through the map's spelling-blind lookup."""

    def __contains__(self, key: object) -> bool:
        return key in self._mapping  # type: ignore[attr-defined]


def node_text(value: object) -> str:
    """Canonical ``[node]`` JSON; text that is no JSON object means no packages."""
    try:
        return canonical_node_json(str(value or ""))
    except ValueError:
        return ""


def check_node_text(lines: list[str], start: int, fail: Any) -> None:
    """[node] text that is no JSON object: JSON, or npm's own lines; anything else is refused."""
    try:
        json.loads("\n".join(lines))
        return
    except ValueError:
        pass
    for offset, raw in enumerate(lines, start=1):
        text = raw.strip()
        if re.fullmatch(r"\[[^\[\]\s]+\]", text):  # a section header we do not know
            raise fail(start + offset, f"unknown section `{text}` (expected pip, dpkg, node, apk)")
        if text and not text.startswith("npm "):
            raise fail(start + offset, f"not npm JSON nor an npm message: {text[:60]!r}")


def check_node_json(text: str, line: int, fail: Any) -> None:
    """A ``[node]`` dependency must say its version (npm's JSON always does)."""
    data = json.loads(text)
    deps = data.get("dependencies") if isinstance(data, dict) else None
    if deps is None:
        if isinstance(data, dict) and "name" in data and "version" not in data:
            raise fail(line, f"[node] entry `{data['name']}` has no version")  # one package?
        return
    if not isinstance(deps, dict):
        raise fail(line, "[node] `dependencies` is not a JSON object")
    for name, info in deps.items():
        said = isinstance(info, dict) and (  # npm names a missing dependency without a version
            isinstance(info.get("version"), str) or any(k in info for k in _NPM_STATUS)
        )
        if not said:
            raise fail(line, f"[node] package `{name}` has no version")


#: Keys with which npm's JSON reports a dependency that has no installed version.
_NPM_STATUS = ("missing", "required", "peerMissing", "invalid", "extraneous", "problems")


def first_content_line(lines: list[str]) -> int:
    for i, line in enumerate(lines, start=1):
        if line.strip():
            return i
    return 1
