"""Which compose engine to drive: the first one that works.

Tried in order: ``docker compose`` (the v2 plugin), ``docker-compose``,
``podman compose``, ``podman-compose``.  "Works" means its ``version``
command succeeds: a ``docker`` client without the compose plugin, or a
podman too old for ``podman compose``, is skipped.  The choice can be forced
with the ``SCITEX_CONTAINER_COMPOSE`` environment variable or the
``compose_cmd`` argument (a command line such as ``"podman-compose"`` or
``"docker compose"``); a forced engine that does not work is an error, not a
reason to try another.

The version output also tells the engine's *flavor*, which decides how
status is read and how exit codes are judged (see :mod:`.podman_compose`).
"""

from __future__ import annotations

import functools
import os
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from scitex_container import envvars
from scitex_container.errors import (
    BadInputError,
    NoComposeEngineError,
    ProcessError,
    ToolMissingError,
)
from scitex_container.process import runner
from scitex_container.result import Result

DOCKER_V2 = "docker-compose-v2"
DOCKER_V1 = "docker-compose-v1"
PODMAN_COMPOSE = "podman-compose"

CANDIDATES: tuple[tuple[str, ...], ...] = (
    ("docker", "compose"),
    ("docker-compose",),
    ("podman", "compose"),
    ("podman-compose",),
)
INSTALL_HINT = (
    "install one (Debian: `apt-get install podman-compose`; or Docker's `docker-compose-plugin`) "
    f"or name it in {envvars.COMPOSE_CMD}"
)
PROBE_TIMEOUT = 30.0


@dataclass(frozen=True)
class ComposeEngine(Result):
    """A compose command that answered ``version``."""

    argv: tuple[str, ...]
    flavor: str
    version: str
    source: str  # "auto", the environment variable's name, or "argument"

    @property
    def name(self) -> str:
        return shlex.join(self.argv)


def flavor_of(argv: Sequence[str], version_text: str) -> tuple[str, str]:
    """(flavor, version) from the engine's ``version`` output."""
    text = version_text.strip()
    m = re.search(r"podman-composer? version:?\s+v?(\S+)", text, re.IGNORECASE)
    if m:
        return PODMAN_COMPOSE, m.group(1)
    m = re.search(r"docker-compose version\s+v?(1\.[\w.+-]+)", text, re.IGNORECASE)
    if m:
        return DOCKER_V1, m.group(1).rstrip(",")
    m = re.search(r"compose version\s+v?(\d[\w.+-]*)", text, re.IGNORECASE)
    if m:
        return DOCKER_V2, m.group(1)
    # An unknown wrapper: guess from its name, keep the first line as version.
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    base = os.path.basename(argv[0])
    return (PODMAN_COMPOSE if base.startswith("podman") else DOCKER_V2), first


def _reason(done: runner.Completed) -> str:
    for text in (done.stderr, done.stdout):
        for line in text.splitlines():
            if line.strip():
                return line.strip()[:120]
    return f"exit code {done.returncode}"


def probe(argv: Sequence[str], source: str = "auto") -> ComposeEngine | str:
    """The engine if ``argv version`` works, else a one-line reason why not."""
    argv = tuple(argv)
    try:
        done = runner.run([*argv, "version"], check=False, readonly=True, timeout=PROBE_TIMEOUT)
    except ToolMissingError:
        return "not on PATH"
    except ProcessError as exc:  # timed out
        return str(exc)
    except OSError as exc:  # not executable, ...
        return str(exc)
    if done.returncode != 0:
        return _reason(done)
    flavor, version = flavor_of(argv, done.stdout + "\n" + done.stderr)
    return ComposeEngine(argv, flavor, version, source)


def _split(command: str | Sequence[str], where: str) -> tuple[str, ...]:
    if isinstance(command, str):
        try:
            argv = tuple(shlex.split(command))
        except ValueError as exc:
            raise BadInputError(f"cannot split {command!r}: {exc}", where) from exc
    else:
        argv = tuple(str(a) for a in command)
    if not argv:
        raise BadInputError("is empty; name a compose command such as `podman-compose`", where)
    return argv


@functools.lru_cache(maxsize=16)
def _detect(forced: tuple[str, ...] | None, source: str, path: str) -> ComposeEngine:
    del path  # part of the cache key only
    if forced is not None:
        found = probe(forced, source)
        if isinstance(found, ComposeEngine):
            return found
        raise NoComposeEngineError(
            f"compose command `{shlex.join(forced)}` (from {source}) does not work: {found}",
            [(shlex.join(forced), found)],
            INSTALL_HINT,
        )
    tried: list[tuple[str, str]] = []
    for argv in CANDIDATES:
        found = probe(argv)
        if isinstance(found, ComposeEngine):
            return found
        tried.append((shlex.join(argv), found))
    listing = ", ".join(f"`{name}` ({why})" for name, why in tried)
    raise NoComposeEngineError(
        f"no working compose engine: tried {listing}; {INSTALL_HINT}", tried, INSTALL_HINT
    )


def detect_engine(compose_cmd: str | Sequence[str] | None = None) -> ComposeEngine:
    """The compose engine to use: ``compose_cmd``, else the env var, else the first that works.

    Results are cached per process (keyed by the override and ``PATH``).
    """
    if compose_cmd is not None:
        forced: tuple[str, ...] | None = _split(compose_cmd, "compose_cmd")
        source = "argument"
    elif os.environ.get(envvars.COMPOSE_CMD, "").strip():
        forced = _split(os.environ[envvars.COMPOSE_CMD], envvars.COMPOSE_CMD)
        source = envvars.COMPOSE_CMD
    else:
        forced, source = None, "auto"
    return _detect(forced, source, os.environ.get(envvars.PATH, ""))


def clear_cache() -> None:
    _detect.cache_clear()


def podman_binary(engine: ComposeEngine) -> str:
    """The ``podman`` that ``engine`` drives (for queries podman-compose lacks)."""
    if os.path.basename(engine.argv[0]) == "podman":
        return engine.argv[0]
    return "podman"
