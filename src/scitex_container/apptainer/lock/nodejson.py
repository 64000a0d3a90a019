"""The ``[node]`` section: npm's JSON (``npm list -g --depth=0 --json``)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any


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


def node_text(value: object) -> str:
    """``[node]`` text as written (the seed keeps it verbatim), stripped.

    Nothing is dropped: text that is no npm JSON (``"garbage"``) is kept as
    it is and reads as no packages (:func:`safe_node_versions`).
    """
    return str(value or "").strip()


def safe_node_versions(text: str) -> dict[str, str]:
    """:func:`node_versions`, with text that is no JSON (npm's chatter) as none."""
    try:
        return node_versions(text)
    except (ValueError, AttributeError):
        return {}


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
