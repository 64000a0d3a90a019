"""Stage keys: one digest of everything a stage depends on.

A stage's key hashes the previous stage's key (so a change anywhere earlier
changes every later key), the stage's own def text, the content of every
host file it reads (``%files`` sources, the image a ``localimage``
bootstrap starts from), the values of the build arguments it references,
the container tool's version, the architecture, whether it is built with
``--fakeroot`` (file ownership in the root fs depends on it) and the host
variables apptainer forwards into ``%post`` (``APPTAINERENV_*``).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from scitex_container.apptainer.building.inputs import LOCAL_IMAGE_AGENTS
from scitex_container.apptainer.cache.stages import StagePlan, StageSpec
from scitex_container.result import Result

#: 2: entries record ``xattrs`` (older ones, made before, may be built on a stage whose
#: extended attributes were lost) and keys hold the host variables apptainer always passes
SCHEMA = "scitex-stage-2"
_FROM_RE = re.compile(r"(?mi)^[ \t]*From:.*$")
_AGENT_RE = re.compile(r"(?mi)^[ \t]*Bootstrap:[ \t]*(\S+)")


@dataclass(frozen=True)
class StageContext(Result):
    """What every stage of one build shares."""

    tool_version: str
    arch: str
    fakeroot: bool
    files: tuple[tuple[str, str], ...] = ()  #: (source, digest) of the ``%files`` sources
    images: tuple[tuple[str, str], ...] = ()  #: (localimage, digest) of the bootstrap
    env: tuple[tuple[str, str], ...] = ()  #: forwarded host variables (``APPTAINERENV_*``)

    @classmethod
    def here(cls, tool_version: str, fakeroot: bool, files=(), images=(), env=()) -> StageContext:
        return cls(
            tool_version,
            platform.machine() or os.uname().machine,
            fakeroot,
            tuple(files),
            tuple(images),
            tuple(sorted(env)),
        )


def stage_key(
    previous: str | None,
    spec: StageSpec,
    context: StageContext,
    arg_values: Mapping[str, str],
    sources: Mapping[str, str] | None = None,
) -> str:
    """The key of ``spec`` built on the stage whose key is ``previous``; ``sources``: the key
    of each earlier ``Stage:`` (by name) it copies from."""
    payload: dict[str, object] = {
        "schema": SCHEMA,
        "previous": previous,
        "kind": spec.kind,
        "body": spec.body,
        "args": {name: arg_values.get(name) for name in spec.templates},
        "tool": context.tool_version,
        "arch": context.arch,
        "fakeroot": context.fakeroot,
    }
    agent = _AGENT_RE.search(spec.body)
    local = agent is not None and agent.group(1).lower() in LOCAL_IMAGE_AGENTS
    if spec.kind in ("bootstrap", "stage") and context.images and local:
        # keyed by content, not by path: one base reached by two paths shares its entries
        payload["body"] = _FROM_RE.sub("From: <by content>", spec.body)
        payload["images"] = [digest for _, digest in context.images]
    if "%files" in spec.body:
        payload["files"] = [list(f) for f in context.files]
    if context.env:  # %post sees them: a stage built with other values is another stage
        payload["env"] = [list(e) for e in context.env]
    if spec.sources:
        payload["sources"] = {name: (sources or {})[name] for name in spec.sources}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def earlier_keys(
    plan: StagePlan, context: StageContext, arg_values: Sequence[Mapping[str, str]]
) -> dict[str, str]:
    """The key of every earlier ``Stage:`` of ``plan``, by name (``arg_values``: per stage)."""
    keys: dict[str, str] = {}
    for spec, values in zip(plan.earlier, arg_values, strict=True):
        keys[spec.name.removeprefix("stage-")] = stage_key(None, spec, context, values, keys)
    return keys


def plan_keys(
    plan: StagePlan,
    context: StageContext,
    arg_values: Mapping[str, str],
    sources: Mapping[str, str] | None = None,
) -> tuple[str, ...]:
    """The key of every stage of ``plan``, in order (``final`` included); ``sources``: the
    keys of the earlier stages (:func:`earlier_keys`)."""
    keys: list[str] = []
    previous: str | None = None
    for spec in plan.stages:
        previous = stage_key(previous, spec, context, arg_values, sources)
        keys.append(previous)
    return tuple(keys)


def argument_values(
    defaults: Mapping[str, str], build_args: Mapping[str, str] | None
) -> dict[str, str]:
    """Build argument values as apptainer resolves them: given, else the ``%arguments`` default."""
    return {**dict(defaults), **{str(k): str(v) for k, v in (build_args or {}).items()}}


def used_args(spec: StageSpec, build_args: Mapping[str, str] | None) -> dict[str, str]:
    """The build args to pass when building ``spec`` (apptainer refuses unused ones)."""
    return {k: v for k, v in (build_args or {}).items() if k in spec.templates}


def unused(names: Sequence[str], plan: StagePlan) -> list[str]:
    """Build args no stage references (a cold build would refuse them too)."""
    used = {t for s in plan.stages for t in s.templates}
    return [n for n in names if n not in used]
