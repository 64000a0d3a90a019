"""The lock model and its combined text file (``# scitex-container lock``).

A lock records the exact package versions installed in one image::

    # scitex-container lock
    # tool: scitex-container 0.1.0
    # image-sha256: 3f0c...
    # image-id: 5b7e0c1e-...
    # captured: 2026-05-24T10:00:00Z
    # regenerate: scitex-container lock capture demo.sif -o demo.sif.lock
    [pip]
    numpy==2.1.0
    mypkg @ file:///opt/wheels/mypkg-1.0-py3-none-any.whl
    [dpkg]
    libc6=2.36-9+deb12u4
    libc6:i386=2.36-9+deb12u4
    [node]
    {
      "dependencies": {
        "left-pad": {
          "version": "1.3.0"
        }
      }
    }
    [apk]
    musl=1.2.4-r2

* ``[pip]``: ``name==version`` with canonical (lower-case, ``-``) names;
  editable, VCS and URL installs are kept as their raw ``pip freeze`` line
  with no version (the key is the whole line, the version ``""``);
* ``[dpkg]``: ``name=version``; packages of a foreign architecture are
  qualified (``libc6:i386``), native and ``all`` ones are not;
* ``[node]``: the JSON of ``npm list -g --depth=0 --json``, reduced to
  ``dependencies.<name>.version`` (the rest varies between npm versions and
  capture methods) with keys sorted; it flattens to ``node:<name>`` entries;
* ``[apk]`` (Alpine images only): ``name=version``.

The header's ``image-sha256`` is the digest of the SIF file the lock was
captured from; ``image-id`` is the SIF's UUID, which stays the same when
data objects are added to the file (an embedded lock or SBOM changes the
digest, not the id), so a lock can be matched to its image either way.

Files in the reference's format (header line and sections only, node JSON as
npm printed it) read the same way.  Everything but the ``# captured:`` line
is a function of the installed packages, so two captures of the same image
are byte-identical when the date is left out (``captured_at=""``) or fixed.
A malformed file raises :class:`~scitex_container.errors.BadInputError`
naming ``file:line``; a partial lock is never returned.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from scitex_container import runner
from scitex_container.errors import BadInputError, NotFoundError
from scitex_container.fsutil import atomic_write_text
from scitex_container.result import Result

HEADER = "# scitex-container lock"
SECTIONS = ("pip", "dpkg", "node", "apk")
#: Header comment keys, in the order they are written.
META_KEYS = {
    "tool_version": "tool",
    "image_sha256": "image-sha256",
    "image_id": "image-id",
    "captured_at": "captured",
    "command": "regenerate",
}
_KEY_TO_FIELD = {v: k for k, v in META_KEYS.items()}

_SECTION_RE = re.compile(r"^\[([A-Za-z0-9_-]+)\]$")
_META_RE = re.compile(r"^#\s*([a-z0-9-]+)\s*:\s*(.*?)\s*$")
_PIP_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_PIP_PINNED_RE = re.compile(rf"^({_PIP_NAME})\s*(===?)\s*(\S+)$")
_PIP_DIRECT_RE = re.compile(rf"^({_PIP_NAME})\s*(\[[^\]]*\])?\s*@\s*(\S.*)$")
_PIP_RAW_RE = re.compile(r"^(?:-e|--editable)\s+\S.*$|^(?:git|hg|svn|bzr)\+\S+$")
_DEB_NAME = r"[a-z0-9][a-z0-9+.-]*"
_DPKG_RE = re.compile(rf"^({_DEB_NAME}(?::[a-z0-9-]+)?)=(\S+)$")
_APK_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9+._-]*)=(\S+)$")


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
    gives ``(line with a canonical name, "")``.
    """
    line = line.strip()
    if m := _PIP_PINNED_RE.match(line):
        return canonicalize_name(m.group(1)), normalize_pip_version(m.group(3))
    if m := _PIP_DIRECT_RE.match(line):
        extras = m.group(2) or ""
        return f"{canonicalize_name(m.group(1))}{extras} @ {m.group(3).strip()}", ""
    if _PIP_RAW_RE.match(line):
        return " ".join(line.split()), ""
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


def _sorted_map(values: Mapping[str, str] | Iterable[tuple[str, str]] | None) -> dict[str, str]:
    items = values.items() if isinstance(values, Mapping) else (values or ())
    return {str(k): str(v) for k, v in sorted(items)}


_PIP_NAME_RE = re.compile(_PIP_NAME)


def _pip_map(values: Mapping[str, str] | Iterable[tuple[str, str]] | None) -> dict[str, str]:
    """Plain names canonicalized (raw freeze lines kept), sorted."""
    out = {}
    for key, version in _sorted_map(values).items():
        out[canonicalize_name(key) if _PIP_NAME_RE.fullmatch(key) else key] = version
    return dict(sorted(out.items()))


@dataclass(frozen=True)
class Lock(Result):
    """Exact package versions of one image (maps are sorted copies).

    ``pip``: canonical name -> version (raw freeze line -> ``""`` for
    editable/VCS/URL installs); ``dpkg``: name (``name:arch`` for a foreign
    architecture) -> version; ``node``: canonical npm JSON text (``""`` when
    no global packages); ``apk``: name -> version.
    """

    pip: Mapping[str, str] = field(default_factory=dict)
    dpkg: Mapping[str, str] = field(default_factory=dict)
    node: str = ""
    apk: Mapping[str, str] = field(default_factory=dict)
    tool_version: str = ""
    image_sha256: str = ""
    image_id: str = ""
    captured_at: str = ""
    command: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "pip", _pip_map(self.pip))
        object.__setattr__(self, "dpkg", _sorted_map(self.dpkg))
        object.__setattr__(self, "apk", _sorted_map(self.apk))
        object.__setattr__(self, "node", canonical_node_json(self.node or ""))

    @property
    def node_versions(self) -> dict[str, str]:
        return node_versions(self.node)

    def version_set(self) -> dict[str, str]:
        """Flat ``{"pip:<name>"|"dpkg:<name>"|"node:<name>"|"apk:<name>": version}``."""
        return dict(self.versions_view())

    def versions_view(self) -> Mapping[str, str]:
        """:meth:`version_set` computed once per lock; do not modify it."""
        cached = self.__dict__.get("_version_set")
        if cached is None:
            cached = {}
            for prefix, values in (
                ("pip:", self.pip),
                ("dpkg:", self.dpkg),
                ("node:", self.node_versions),
                ("apk:", self.apk),
            ):
                cached.update(zip(map(prefix.__add__, values), values.values()))
            self.__dict__["_version_set"] = cached  # frozen: computed once
        return cached

    def counts(self) -> dict[str, int]:
        return {
            "pip": len(self.pip),
            "dpkg": len(self.dpkg),
            "node": len(self.node_versions),
            "apk": len(self.apk),
        }

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["node"] = self.node_versions
        data["counts"] = self.counts()
        return data


def render_lock(lock: Lock) -> str:
    """The file text of ``lock`` (deterministic; ends with a newline)."""
    lines = [HEADER]
    for attr, key in META_KEYS.items():
        value = " ".join(str(getattr(lock, attr)).split())
        if value:
            lines.append(f"# {key}: {value}")
    lines.append("[pip]")
    lines += [f"{name}=={ver}" if ver else name for name, ver in lock.pip.items()]
    lines.append("[dpkg]")
    lines += [f"{name}={ver}" for name, ver in lock.dpkg.items()]
    lines.append("[node]")
    if lock.node:
        lines.append(lock.node)
    if lock.apk:
        lines.append("[apk]")
        lines += [f"{name}={ver}" for name, ver in lock.apk.items()]
    return "\n".join(lines) + "\n"


def write_lock(lock: Lock, lock_path: str | os.PathLike) -> Path:
    """Write ``lock`` to ``lock_path`` atomically (skipped in a dry run)."""
    path = Path(lock_path)
    if not runner.is_dry_run():
        atomic_write_text(path, render_lock(lock))
    return path


def read_lock(lock_path: str | os.PathLike) -> Lock:
    """Parse a lock file; raise BadInputError naming ``file:line`` if malformed."""
    path = Path(lock_path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFoundError(f"lock file `{path}` does not exist", str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"cannot read lock file: {exc}", str(path)) from None
    return parse_lock(text, str(path))


def parse_lock(text: str, source: str = "<lock>") -> Lock:
    """Parse lock text (``source`` names it in errors)."""
    meta: dict[str, str] = {}
    maps: dict[str, dict[str, str]] = {"pip": {}, "dpkg": {}, "apk": {}}
    seen_at: dict[str, dict[str, int]] = {"pip": {}, "dpkg": {}, "apk": {}}
    node_lines: list[str] = []
    node_start = 0
    sections_seen: dict[str, int] = {}
    section: str | None = None

    def fail(lineno: int, message: str) -> BadInputError:
        return BadInputError(message, f"{source}:{lineno}")

    for lineno, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        header = _SECTION_RE.match(stripped)
        if header and (section != "node" or header.group(1) in SECTIONS):
            name = header.group(1)
            if name not in SECTIONS:
                raise fail(
                    lineno, f"unknown section `[{name}]` (expected one of {', '.join(SECTIONS)})"
                )
            if name in sections_seen:
                raise fail(
                    lineno,
                    f"section `[{name}]` appears twice (first at line {sections_seen[name]})",
                )
            sections_seen[name] = lineno
            section = name
            if name == "node":
                node_start = lineno
            continue
        if section == "node":
            node_lines.append(raw)
            continue
        if not stripped:
            continue
        if stripped.startswith("#"):
            if section is None and (m := _META_RE.match(stripped)) and m.group(1) in _KEY_TO_FIELD:
                meta[_KEY_TO_FIELD[m.group(1)]] = m.group(2)
            continue
        if section is None:
            raise fail(lineno, f"line outside any section: {stripped[:60]!r}")
        key, version = _parse_entry(section, stripped, lambda msg: fail(lineno, msg))
        first = seen_at[section].get(_dup_key(section, key))
        if first is not None:
            raise fail(lineno, f"duplicate {section} package `{key}` (first at line {first})")
        seen_at[section][_dup_key(section, key)] = lineno
        maps[section][key] = version

    if not sections_seen:
        raise BadInputError("no [pip], [dpkg], [node] or [apk] section: not a lock file", source)
    node_text = "\n".join(node_lines).strip()
    if node_text:
        try:
            data = json.loads(node_text)
        except ValueError as exc:
            line = node_start + _first_content_line(node_lines) + getattr(exc, "lineno", 1) - 1
            raise fail(line, f"[node] is not valid JSON: {getattr(exc, 'msg', exc)}") from None
        if not isinstance(data, dict):
            raise fail(node_start + 1, "[node] must be a JSON object (npm list --json output)")
        node_text = json.dumps(data)
    return Lock(pip=maps["pip"], dpkg=maps["dpkg"], node=node_text, apk=maps["apk"], **meta)


def _first_content_line(lines: list[str]) -> int:
    for i, line in enumerate(lines, start=1):
        if line.strip():
            return i
    return 1


def _dup_key(section: str, key: str) -> str:
    if section == "pip":
        return key.split(" @ ")[0].split("[")[0] if " @ " in key else key
    return key


def _parse_entry(section: str, line: str, fail) -> tuple[str, str]:
    if section == "pip":
        try:
            return pip_entry(line)
        except ValueError:
            raise fail(
                f"not a pip pin (`name==version`, `name @ url` or `-e ...`): {line[:80]!r}"
            ) from None
    regex = _DPKG_RE if section == "dpkg" else _APK_RE
    m = regex.match(line)
    if not m:
        raise fail(f"not a {section} pin (`name=version`): {line[:80]!r}")
    return m.group(1), m.group(2)
