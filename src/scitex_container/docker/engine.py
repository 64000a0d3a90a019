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

A probe costs 0.1-0.4 s (podman-compose is Python and asks podman for its
version), paid by every command before the engine even starts.  The choice
is therefore remembered per process and, across processes, in the user's
cache directory (``compose-engine.json``), keyed by everything its answer
depends on that we can see: ``PATH``, the override, and the identity (path,
size, mtime, ctime, inode) of every candidate's executable, docker's CLI
plugin directories and containers.conf.  Installing, upgrading or removing
an engine changes the key; an entry older than :data:`MEMO_MAX_AGE_S` is
probed again regardless.  Only a working engine is remembered, never in a
dry run; a memo that cannot be read or written only costs the probe.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shlex
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from scitex_container import envvars
from scitex_container.errors import (
    BadInputError,
    NoComposeEngineError,
    ProcessError,
    ToolMissingError,
)
from scitex_container.files.fsutil import atomic_write_text
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
MEMO_MAX_AGE_S = 3600.0
#: Where else an answer to ``version`` comes from: docker's compose plugin, podman's provider.
_ALSO_KEYED = (
    "~/.docker/cli-plugins",
    "/usr/local/lib/docker/cli-plugins",
    "/usr/local/libexec/docker/cli-plugins",
    "/usr/lib/docker/cli-plugins",
    "/usr/libexec/docker/cli-plugins",
    "/etc/containers/containers.conf",
    "~/.config/containers/containers.conf",
)


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


def _identity(path: str) -> str:
    try:
        st = os.stat(path)
    except OSError:
        return f"{path}:-"
    return f"{path}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}"


def memo_key(forced: tuple[str, ...] | None, source: str, path: str) -> str:
    """What a remembered choice is valid for (see the module's docstring)."""
    parts = [repr(forced), source, path]
    for argv in [forced] if forced is not None else CANDIDATES:
        exe = runner.which(argv[0]) if os.sep not in argv[0] else argv[0]
        parts.append(_identity(exe) if exe else f"{argv[0]}:not on PATH")
    parts += [_identity(os.path.expanduser(p)) for p in _ALSO_KEYED]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def memo_file() -> Path:
    return Path(envvars.user_cache_dir()) / "scitex-container" / "compose-engine.json"


def _recall(key: str) -> ComposeEngine | None:
    try:
        entry = json.loads(memo_file().read_text()).get(key)
        if time.time() - float(entry["at"]) > MEMO_MAX_AGE_S:
            return None
        return ComposeEngine(
            tuple(str(a) for a in entry["argv"]),
            str(entry["flavor"]),
            str(entry["version"]),
            str(entry["source"]),
        )
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return None


def _remember(key: str, found: ComposeEngine) -> None:
    if runner.is_dry_run():
        return
    try:
        data = json.loads(memo_file().read_text())
        data = data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        data = {}
    now = time.time()
    data = {k: v for k, v in data.items() if isinstance(v, dict) and now - v.get("at", 0) < 86400}
    data[key] = {**found.to_dict(), "argv": list(found.argv), "at": now}
    try:  # not fsynced: a memo lost in a power cut only costs a probe
        atomic_write_text(memo_file(), json.dumps(data, sort_keys=True), durable=False)
    except OSError:
        return


@functools.lru_cache(maxsize=16)
def _detect(forced: tuple[str, ...] | None, source: str, path: str) -> ComposeEngine:
    key = memo_key(forced, source, path)
    found = _recall(key)
    if found is None:
        found = _probe_all(forced, source)
        _remember(key, found)
    return found


def _probe_all(forced: tuple[str, ...] | None, source: str) -> ComposeEngine:
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
