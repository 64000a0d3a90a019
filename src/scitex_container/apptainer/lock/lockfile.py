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

* ``[pip]``: ``name==version`` (our captures write canonical names; a
  lock read back keeps every name and version exactly as written, and
  compares them normalized); editable, VCS and URL installs are kept as
  their raw ``pip freeze`` line with no version (the key is the whole line,
  the version ``""``);
* ``[dpkg]``: ``name=version``; packages of a foreign architecture are
  qualified (``libc6:i386``), native and ``all`` ones are not;
* ``[node]``: the JSON of ``npm list -g --depth=0 --json``, reduced to
  ``dependencies.<name>.version`` (the rest varies between npm versions and
  capture methods) with keys sorted; it flattens to ``node:<name>`` entries;
* ``[apk]`` (Alpine images only): ``name=version``.

``# pip-capture:`` says how the pip section was captured: ``freeze-all``
(ours: every installed distribution, ``pip``, ``setuptools`` and ``wheel``
included) or ``freeze`` (``pip freeze``, which leaves those out).  A lock
with no ``# tool:`` line was written by the seed, whose capture ran
``pip freeze``: it reads as ``freeze``.  :func:`.compare.compare_locks`
leaves out the names ``pip freeze`` omits when exactly one side is
freeze-style, so the two captures of one image do not drift.

An empty version (``name=`` in ``[dpkg]``, a bare name in ``[pip]``)
means "unpinned": it is kept and compared, never pinned.

The header's ``image-sha256`` is the digest of the SIF file the lock was
captured from; ``image-id`` is the SIF's UUID, which stays the same when
data objects are added to the file (an embedded lock or SBOM changes the
digest, not the id), so a lock can be matched to its image either way.

Header comments, which a reader that knows nothing of them (the seed's)
skips, so it reads the same versions: ``# provided-by: pip:numpy
dpkg:python3-numpy`` (an entry a Debian package installed: pinned and
archived through dpkg only); ``# dpkg-config-files: name=ver`` (removed
packages whose config files remain, ``rc``: never in ``[dpkg]``, the seed
listed them); ``# artifact: dpkg:libc6 sha256:<hex>`` (archived locks);
``# pip-environment: /opt/venv`` and ``# pip-env: /usr name==ver`` (``[pip]``
is the Python environment the image's runtime ``PATH`` finds first; every
other one is kept whole, see :mod:`.pyenvs`).

Files in the reference's format (header line and sections only, node JSON as
npm printed it) read the same way, and so does everything the seed's
``write_lock`` writes: ``name=`` (an empty dpkg version), a bare pip name or
a local path line (``./localdir``), ``[node]`` text that is no JSON object
(no node packages; text starting with ``{`` must be valid JSON).

Everything but ``# captured:`` is a function of the installed packages: two
captures of one image are byte-identical with the date left out or fixed.  A
malformed file raises BadInputError naming ``file:line``, never a partial lock.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scitex_container.apptainer.lock.nodejson import check_node_json
from scitex_container.apptainer.lock.pyenvs import check_environment, conflicts
from scitex_container.apptainer.lock.syntax import (
    DPKG_RE,
    PipMap,
    VersionSet,
    check_node_text,
    first_content_line,
    line_key,
    node_text,
    outside_sections,
    parse_entry,
    pip_entry,
    safe_node_versions,
    sorted_map,
)

# Re-exported: the lock's entry syntax, imported from here by captures and tests.
from scitex_container.apptainer.lock.syntax import canonical_node_json as canonical_node_json
from scitex_container.apptainer.lock.syntax import (
    node_json_from_versions as node_json_from_versions,
)
from scitex_container.apptainer.lock.syntax import node_versions as node_versions
from scitex_container.apptainer.lock.syntax import normalize_pip_version as normalize_pip_version
from scitex_container.errors import BadInputError, NotFoundError
from scitex_container.files.fsutil import atomic_write_text
from scitex_container.files.pathinfo import not_found, read_regular
from scitex_container.process import runner
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
    "pip_capture": "pip-capture",
    "pip_environment": "pip-environment",
}
#: ``pip_capture`` values: ours lists every distribution; ``pip freeze`` omits some.
PIP_CAPTURE_ALL = "freeze-all"
PIP_CAPTURE_FREEZE = "freeze"
_KEY_TO_FIELD = {v: k for k, v in META_KEYS.items()}

_SECTION_RE = re.compile(r"^\[([A-Za-z0-9_-]+)\]$")
_META_RE = re.compile(r"^#\s*([a-z0-9-]+)\s*:\s*(.*?)\s*$")
_PROVIDED_RE = re.compile(r"^((?:pip|pip@/\S*?|node):\S+)\s+(dpkg:\S+)$")
_ARTIFACT_RE = re.compile(r"^((?:pip|dpkg|node|apk):\S.*?)\s+sha256:([0-9a-f]{64})$")


@dataclass
class Lock(Result):
    """Exact package versions of one image.

    ``pip``: name -> version as written (raw freeze line -> ``""`` for
    editable/VCS/URL/path installs), a :class:`PipMap`, so a lookup by any
    spelling of the name works (the seed's lower-case keys included);
    ``dpkg``: name (``name:arch`` for a foreign architecture) -> version;
    ``node``: canonical npm JSON text (``""`` when no global packages);
    ``apk``: name -> version; ``artifacts``: version
    key (``dpkg:libc6``) -> sha256 of the archived artifact (empty for a
    lock that was never archived).

    Mutable like the seed's ``Lock``: fields may be reassigned
    (``lock.pip = {...}``) or changed in place; nothing is cached, every
    comparison reads the current contents.  Assigned maps are copied.
    """

    pip: Mapping[str, str] = field(default_factory=PipMap)
    dpkg: Mapping[str, str] = field(default_factory=dict)
    node: str = ""
    apk: Mapping[str, str] = field(default_factory=dict)
    tool_version: str = ""
    image_sha256: str = ""
    image_id: str = ""
    captured_at: str = ""
    command: str = ""
    #: How pip was captured: "freeze-all", "freeze" (the seed's), "" unknown.
    pip_capture: str = ""
    artifacts: Mapping[str, str] = field(default_factory=dict)
    #: ``pip:<name>``/``node:<name>`` -> ``dpkg:<package>`` that installed it
    provided_by: Mapping[str, str] = field(default_factory=dict)
    #: dpkg packages removed with their config files left (state ``rc``):
    #: name (``name:arch`` for a foreign architecture) -> version.  Not
    #: installed, so not in :meth:`version_set` and never pinned; recorded
    #: because the seed's capture lists them (see :func:`.compare.comparable_sets`).
    dpkg_config_files: Mapping[str, str] = field(default_factory=dict)
    #: The Python environment ``pip`` holds (``/opt/venv``; "" or ``/usr``: the
    #: system's) and every other one, whole: environment -> {key: version}.
    #: Their entries are ``pip@<env>:<key>`` in :meth:`version_set`.
    pip_environment: str = ""
    pip_envs: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "pip":
            value = PipMap(sorted_map(value))
        elif name in ("dpkg", "apk", "artifacts", "provided_by", "dpkg_config_files"):
            value = sorted_map(value)
        elif name == "node":
            value = node_text(value)
        elif name == "pip_envs":
            value = {str(env): PipMap(sorted_map(m)) for env, m in sorted(dict(value).items())}
        object.__setattr__(self, name, value)

    @property
    def node_versions(self) -> dict[str, str]:
        return safe_node_versions(self.node)

    def version_set(self) -> VersionSet:
        """Flat ``{"pip:<name>"|"dpkg:<name>"|"node:<name>"|"apk:<name>": version}``.

        Keys and versions as written (the seed's ``version_set``); a lookup
        by another spelling of a pip name finds the entry.  Computed from
        the current contents on every call.
        """
        out = VersionSet((f"pip:{k}", str(v)) for k, v in self.pip.items())
        for prefix, values in (
            ("dpkg:", self.dpkg),
            ("node:", self.node_versions),
            ("apk:", self.apk),
        ):
            out.update((prefix + k, str(v)) for k, v in values.items())
        for env, values in self.pip_envs.items():
            out.update((f"pip@{env}:{k}", str(v)) for k, v in values.items())
        return out

    def pip_conflicts(self) -> dict[str, dict[str, str]]:
        """``{name: {environment: version}}``: names at different versions in several."""
        return conflicts(self.pip_environment, self.pip, self.pip_envs)

    def versions_view(self) -> VersionSet:  # kept for callers: the same as version_set
        return self.version_set()

    def counts(self) -> dict[str, int]:
        return {
            "pip": len(self.pip),
            "dpkg": len(self.dpkg),
            "node": len(self.node_versions),
            "apk": len(self.apk),
        }

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["pip"] = dict(self.pip)
        data["node"] = self.node_versions
        data["counts"] = self.counts()
        if not self.artifacts:
            data.pop("artifacts", None)
        if not self.provided_by:
            data.pop("provided_by", None)
        if not self.dpkg_config_files:
            data.pop("dpkg_config_files", None)
        data["pip_envs"] = {env: dict(m) for env, m in self.pip_envs.items()}
        data["pip_conflicts"] = self.pip_conflicts()
        return data


def render_lock(lock: Lock) -> str:
    """The file text of ``lock`` (deterministic; ends with a newline)."""
    lines = [HEADER]
    for attr, key in META_KEYS.items():
        value = " ".join(str(getattr(lock, attr)).split())
        if value:
            lines.append(f"# {key}: {value}")
    lines += [f"# provided-by: {key} {owner}" for key, owner in lock.provided_by.items()]
    lines += [f"# artifact: {key} sha256:{digest}" for key, digest in lock.artifacts.items()]
    lines += [f"# dpkg-config-files: {k}={v}" for k, v in lock.dpkg_config_files.items()]
    for env, values in lock.pip_envs.items():
        lines += [
            f"# pip-env: {env} {k}=={v}" if v else f"# pip-env: {env} {k}"
            for k, v in values.items()
        ]
    lines.append("[pip]")
    lines += [f"{name}=={ver}" if ver else name for name, ver in sorted(lock.pip.items())]
    lines.append("[dpkg]")
    lines += [f"{name}={ver}" for name, ver in sorted(lock.dpkg.items())]
    lines.append("[node]")
    if lock.node:
        lines.append(lock.node)
    if lock.apk:
        lines.append("[apk]")
        lines += [f"{name}={ver}" for name, ver in sorted(lock.apk.items())]
    return "\n".join(lines) + "\n"


def write_lock(lock: Lock, lock_path: str | os.PathLike) -> Path:
    """Write ``lock`` to ``lock_path`` atomically (skipped in a dry run)."""
    path = Path(lock_path)
    if not runner.is_dry_run():
        atomic_write_text(path, render_lock(lock))
    return path


def read_lock(lock_path: str | os.PathLike) -> Lock:
    """Parse the lock file ``lock_path``; BadInputError naming ``file:line`` if malformed."""
    path = Path(lock_path)
    try:  # a FIFO or device is refused before a byte is read; a huge file is not read whole
        # (every other refusal is already one line naming the path, from files/pathinfo)
        text = read_regular(path, "lock file").decode("utf-8")
    except NotFoundError:
        raise not_found(path, "the lock file does not exist") from None
    except UnicodeDecodeError:  # a SIF image, a tarball...
        raise BadInputError("not a lock file (binary data, not text)", str(path)) from None
    return parse_lock(text, str(path))


def parse_lock(text: str, source: str = "<lock>") -> Lock:
    """Parse lock text (``source`` names it in errors)."""
    meta: dict[str, str] = {}
    artifacts: dict[str, str] = {}
    provided: dict[str, str] = {}
    config_files: dict[str, str] = {}
    envs: dict[str, dict[str, str]] = {}
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
            if not stripped.startswith("#"):  # the seed skips comments everywhere
                node_lines.append(raw)
            continue
        if not stripped:
            continue
        if stripped.startswith("#"):
            m = _META_RE.match(stripped) if section is None else None
            if m and m.group(1) == "artifact":
                a = _ARTIFACT_RE.match(m.group(2))
                if not a:
                    raise fail(lineno, f"not an artifact line (`KEY sha256:HEX`): {m.group(2)!r}")
                artifacts[a.group(1)] = a.group(2)
            elif m and m.group(1) == "provided-by":
                p = _PROVIDED_RE.match(m.group(2))
                if not p:
                    raise fail(lineno, f"not a provided-by line (`KEY dpkg:PKG`): {m.group(2)!r}")
                provided[p.group(1)] = p.group(2)
            elif m and m.group(1) == "dpkg-config-files":
                c = DPKG_RE.match(m.group(2))
                if not c or not c.group(2):
                    raise fail(lineno, f"not a dpkg-config-files line: {m.group(2)!r}")
                config_files[c.group(1)] = c.group(2)
            elif m and m.group(1) == "pip-env":
                env, _, line = m.group(2).partition(" ")
                try:
                    key, version = pip_entry(line)
                    envs.setdefault(check_environment(env), {})[key] = version
                except ValueError:
                    raise fail(lineno, f"not a pip-env line (`ENV PIN`): {m.group(2)!r}") from None
            elif m and m.group(1) in _KEY_TO_FIELD:
                meta[_KEY_TO_FIELD[m.group(1)]] = m.group(2)
            continue
        if section is None:
            raise fail(lineno, outside_sections(stripped))
        key, version = parse_entry(section, stripped, functools.partial(fail, lineno))
        first = seen_at[section].get(line_key(section, key))
        if first is not None:
            raise fail(lineno, f"duplicate {section} package `{key}` (first at line {first})")
        seen_at[section][line_key(section, key)] = lineno
        maps[section][key] = version

    if not sections_seen:
        raise BadInputError("no [pip], [dpkg], [node] or [apk] section: not a lock file", source)
    node_text = "\n".join(node_lines).strip()
    if node_text.startswith("{"):
        try:
            json.loads(node_text)  # kept as written (the seed's Lock.node is verbatim)
        except ValueError as exc:
            line = node_start + first_content_line(node_lines) + getattr(exc, "lineno", 1) - 1
            raise fail(line, f"[node] is not valid JSON: {getattr(exc, 'msg', exc)}") from None
        check_node_json(node_text, node_start + first_content_line(node_lines), fail)
    elif node_text:  # other JSON ([], null) or npm's chatter: no node packages (the seed's)
        check_node_text(node_lines, node_start, fail)
    if "pip_capture" not in meta and "tool_version" not in meta:
        meta["pip_capture"] = PIP_CAPTURE_FREEZE  # the seed wrote it, after ``pip freeze``
    return Lock(
        pip=maps["pip"],
        dpkg=maps["dpkg"],
        node=node_text,
        apk=maps["apk"],
        artifacts=artifacts,
        provided_by=provided,
        dpkg_config_files=config_files,
        pip_envs=envs,
        **meta,
    )
