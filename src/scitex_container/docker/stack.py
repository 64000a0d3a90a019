"""The target of a compose command: which file, project and engine, and how it is run.

:func:`resolve` finds the compose file (:mod:`.compose_file`), checks its
YAML (a syntax error is reported as ``file:line`` with the engine's own
message), picks the engine (:mod:`.engine`) and the project name.
:func:`invoke` runs ``<engine> -f <file> -p <project> <args>`` from the
compose file's directory, streaming each line to a callback and, for
podman-compose, correcting its exit code (:mod:`.podman_compose`).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from scitex_container.docker import compose_file as cf
from scitex_container.docker import podman_compose
from scitex_container.docker.engine import (
    PODMAN_COMPOSE,
    ComposeEngine,
    NoComposeEngineError,
    detect_engine,
)
from scitex_container.errors import BadInputError
from scitex_container.process import runner
from scitex_container.result import Result

log = logging.getLogger(__name__)

LineSink = Callable[[str], None]
#: podman-compose is Python: unbuffered, its echoes stay in order with podman's output.
ENGINE_ENV = {"PYTHONUNBUFFERED": "1"}
QUERY_TIMEOUT = 120.0
TAIL_LINES = 20


@dataclass(frozen=True)
class Stack(Result):
    """A resolved target: which file, which project, which engine."""

    compose_file: Path
    project: str
    engine: ComposeEngine

    def argv(self, *args: str) -> list[str]:
        return [*self.engine.argv, "-f", str(self.compose_file), "-p", self.project, *args]


@dataclass(frozen=True)
class ComposeRun(Result):
    """What one operation ran and how it ended."""

    action: str
    compose_file: Path
    project: str
    engine: str
    returncode: int
    commands: tuple[tuple[str, ...], ...]
    output_tail: str = ""


# -- resolving ---------------------------------------------------------------


def engine_message(text: str) -> str:
    """The engine's own complaint: a Python exception line (podman-compose) or the last line."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for index in range(len(lines) - 1, -1, -1):
        if re.match(r"^[A-Za-z_][\w.]*(Error|Exception): ", lines[index]):
            return " ".join(lines[index:])[:400]
    return lines[-1][:400] if lines else ""


def _yaml_error(path: Path, problem: cf.YamlProblem, compose_cmd) -> BadInputError | None:
    """The error to raise for a YAML problem, with the engine's message when it has one."""
    where = f"{path}:{problem.line}" if problem.line else str(path)
    message = f"invalid YAML: {problem.message}"
    try:
        engine = detect_engine(compose_cmd)
    except NoComposeEngineError:
        return BadInputError(message, where)
    verb = ["ps"] if engine.flavor == PODMAN_COMPOSE else ["config", "-q"]
    done = runner.run(
        [*engine.argv, "-f", str(path), *verb],
        check=False,
        readonly=True,
        cwd=path.parent,
        timeout=QUERY_TIMEOUT,
        env=ENGINE_ENV,
    )
    if done.returncode == 0:
        log.warning("%s: pyyaml reports %s, but %s accepts the file", where, message, engine.name)
        return None
    said = engine_message(done.stdout + "\n" + done.stderr)
    return BadInputError(f"{message}; {engine.name} says: {said}" if said else message, where)


def resolve(
    env: str = "dev",
    project_dir: str | os.PathLike | None = None,
    *,
    compose_cmd: str | Sequence[str] | None = None,
    project_name: str | None = None,
) -> Stack:
    """Find the compose file, check its YAML, pick the engine and the project name."""
    path = cf.find_compose_file(env, project_dir)
    data, problem = cf.load_compose(path)
    if problem is not None:
        error = _yaml_error(path, problem, compose_cmd)
        if error is not None:
            raise error
    engine = detect_engine(compose_cmd)
    return Stack(path, cf.project_name(path, project_name, data), engine)


# -- running -----------------------------------------------------------------


def invoke(
    stack: Stack, args: Sequence[str], on_line: LineSink | None
) -> tuple[tuple[str, ...], int, list[str]]:
    argv = stack.argv(*args)
    lines: list[str] = []

    def each(line: str) -> None:
        lines.append(line)
        if on_line is not None:
            on_line(line)

    done = runner.stream(
        argv, on_line=each, check=False, cwd=stack.compose_file.parent, env=ENGINE_ENV
    )
    code = done.returncode
    if stack.engine.flavor == PODMAN_COMPOSE and not done.dry_run:
        code = podman_compose.effective_returncode(lines, code)
    if code != 0:
        last = next((ln for ln in reversed(lines) if ln.strip()), "")
        log.warning("`%s` failed with code %s: %s", " ".join(argv), code, last.strip())
    return tuple(argv), code, lines


def make_result(
    stack: Stack, action: str, code: int, commands: list, lines: list[str]
) -> ComposeRun:
    return ComposeRun(
        action,
        stack.compose_file,
        stack.project,
        stack.engine.name,
        code,
        tuple(commands),
        "\n".join(lines[-TAIL_LINES:]),
    )
