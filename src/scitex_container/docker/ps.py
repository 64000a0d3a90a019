"""Container listings from each engine, normalized to ``{name, state, image, raw}``.

One parsing function per source of JSON:

* :func:`parse_compose_ps` -- ``docker compose ps --format json`` (v2): a JSON
  array before Compose 2.21, one object per line since;
* :func:`parse_podman_ps` -- ``podman ps --format json``: a JSON array (what
  podman-compose projects are read with, since podman-compose 1.0.x has no
  ``ps --format json``);
* :func:`parse_docker_ps` -- ``docker ps --format '{{json .}}'``: one object
  per line (used for ``docker-compose`` v1, which has no JSON ``ps``).

Each returns the containers sorted by name; unparseable output raises
``ValueError`` naming what was expected.
"""

from __future__ import annotations

import json
from typing import Any


def _container(name: Any, state: Any, image: Any, raw: dict) -> dict:
    return {
        "name": "" if name is None else str(name),
        "state": "" if state is None else str(state).lower(),
        "image": "" if image is None else str(image),
        "raw": raw,
    }


def _objects(text: str, what: str) -> list[dict]:
    """A JSON array, a single object, or one object per line."""
    text = text.strip()
    if not text:
        return []
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        data = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                data.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{what}: line {number} is not JSON: {line[:80]!r}") from exc
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise ValueError(f"{what}: expected JSON objects, got {type(data).__name__}")
    return data


def _sorted(items: list[dict]) -> list[dict]:
    return sorted(items, key=lambda c: (c["name"], c["image"]))


def parse_compose_ps(text: str) -> list[dict]:
    """``docker compose ps --format json`` (Compose v2)."""
    return _sorted(
        [
            _container(o.get("Name"), o.get("State"), o.get("Image"), o)
            for o in _objects(text, "docker compose ps")
        ]
    )


def parse_podman_ps(text: str) -> list[dict]:
    """``podman ps --format json``: ``Names`` is a list, ``State`` a word."""
    out = []
    for o in _objects(text, "podman ps"):
        names = o.get("Names")
        name = names[0] if isinstance(names, list) and names else names
        out.append(_container(name, o.get("State"), o.get("Image"), o))
    return _sorted(out)


def parse_docker_ps(text: str) -> list[dict]:
    """``docker ps --format '{{json .}}'``: ``Names`` is a comma-separated string."""
    out = []
    for o in _objects(text, "docker ps"):
        names = o.get("Names")
        name = names.split(",")[0] if isinstance(names, str) else names
        out.append(_container(name, o.get("State"), o.get("Image"), o))
    return _sorted(out)
