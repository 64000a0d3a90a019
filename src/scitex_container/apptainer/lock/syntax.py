"""The syntax of lock entries: pip freeze lines, npm JSON, the pip name map.

Shared by the lock file parser and the captures, which read the same lines
out of images.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, KeysView, Mapping
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from scitex_container.apptainer.lock.nodejson import canonical_node_json as canonical_node_json
from scitex_container.apptainer.lock.nodejson import check_node_text as check_node_text
from scitex_container.apptainer.lock.nodejson import (
    node_json_from_versions as node_json_from_versions,
)
from scitex_container.apptainer.lock.nodejson import node_text as node_text
from scitex_container.apptainer.lock.nodejson import node_versions as node_versions
from scitex_container.apptainer.lock.nodejson import safe_node_versions as safe_node_versions

_PIP_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_PIP_PINNED_RE = re.compile(rf"^({_PIP_NAME})\s*(===?)\s*(\S+)$")
_PIP_DIRECT_RE = re.compile(rf"^({_PIP_NAME})\s*(\[[^\]]*\])?\s*@\s*(\S.*)$")
_PIP_RAW_RE = re.compile(r"^(?:-e|--editable)\s+\S.*$|^(?:git|hg|svn|bzr)\+\S+$")
#: A local path or file URL line (``./localdir``, ``/opt/w/x.whl``, ``file:...``),
#: which the seed's capture kept as a raw key.
_PIP_PATH_RE = re.compile(r"^(?:\.{1,2}/|/|~/|file:)\S*$")
_PIP_BARE_RE = re.compile(rf"^{_PIP_NAME}$")
_PIP_NAME_RE = re.compile(_PIP_NAME)
_DEB_NAME = r"[a-z0-9][a-z0-9+.-]*"
#: A ``[dpkg]`` line: ``name[:arch]=version`` (the version may be empty).
DPKG_RE = re.compile(rf"^({_DEB_NAME}(?::[a-z0-9-]+)?)=(\S*)$")
_APK_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9+._-]*)=(\S+)$")


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
        """The key as stored for ``name`` (any spelling, or the seed's key), or None."""
        name = str(name)
        if dict.__contains__(self, name):
            return name
        found = self._ids().get(pip_identity(name))
        if found is None:  # the seed split every line at its first ``==``
            found = {seed_pip_key(k, v): k for k, v in dict.items(self)}.get(name.lower())
        return found

    def __eq__(self, other: object) -> bool:
        """Equal entries, names and versions normalized (``PyYAML==6.0`` is ``pyyaml==6.0``)."""
        if not isinstance(other, Mapping):
            return NotImplemented
        return _normalized(self, pip_identity) == _normalized(other, pip_identity)

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = None

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
    if sep and (manager == "pip" or manager.startswith("pip@")):
        return f"{manager}:{pip_identity(name)}"
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

    def __eq__(self, other: object) -> bool:
        """Equal entries, pip names and versions normalized (as compare_locks sees them)."""
        if not isinstance(other, Mapping):
            return NotImplemented
        return _normalized(self, version_key_identity) == _normalized(other, version_key_identity)

    def __ne__(self, other: object) -> bool:
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    __hash__ = None

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


def seed_pip_key(key: str, version: str) -> str:
    """The seed reader's key for the line ``key==version`` (split at its first ``==``, lower)."""
    line = f"{key}=={version}" if version else key
    return line.split("==", 1)[0].strip().lower() if "==" in line else line


def _normalized(values: Mapping, identity: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, version in dict.items(values) if isinstance(values, dict) else values.items():
        ident = identity(key)
        pip = ident.startswith("pip") or identity is pip_identity
        out[ident] = normalize_pip_version(str(version).removeprefix("=")) if pip else str(version)
    return out


class _IdentityKeys(KeysView):
    """A keys view whose ``in`` goes through the map's spelling-blind lookup."""

    def __contains__(self, key: object) -> bool:
        return key in self._mapping  # type: ignore[attr-defined]


def first_content_line(lines: list[str]) -> int:
    for i, line in enumerate(lines, start=1):
        if line.strip():
            return i
    return 1


def dup_key(section: str, key: str) -> str:
    """The package a line of ``section`` is (a URL line is its name)."""
    if section == "pip":
        ident = pip_identity(key)
        return ident.split(" @ ")[0].split("[")[0] if " @ " in ident else ident
    return key


def line_key(section: str, key: str) -> str:
    """What two lines of one section must not share: the seed's dict key.

    The seed reads ``h==1.0`` as key ``h`` and ``h @ URL`` as key
    ``h @ URL``: both are kept, so both are read (only a repeated pin of
    one name, or of one URL, is refused).
    """
    return pip_identity(key) if section == "pip" else key


def parse_entry(section: str, line: str, fail: Any) -> tuple[str, str]:
    """``(key, version)`` of one line of ``section``; ``fail(message)`` makes the error."""
    if section == "pip":
        try:
            return pip_entry(line)
        except ValueError:
            raise fail(
                f"not a pip pin (`name==version`, `name @ url` or `-e ...`): {line[:80]!r}"
            ) from None
    regex = DPKG_RE if section == "dpkg" else _APK_RE
    m = regex.match(line)
    if not m:
        raise fail(f"not a {section} pin (`name=version`): {line[:80]!r}")
    return m.group(1), m.group(2)


def outside_sections(line: str) -> str:
    """Why a lock's content line before any section is refused (a def file is said as one)."""
    if re.match(r"(?i)bootstrap\s*:", line):
        return "not a lock file: this is a def file (`lock capture IMAGE` makes a lock)"
    return f"line outside any section: {line[:60]!r}"
