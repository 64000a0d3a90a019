"""Compose operations: rebuild, restart, status, up, down, logs.

Each public function resolves its target (:func:`.stack.resolve`: compose
file, project name, engine) and runs ``<engine> -f <file> -p <project> <verb>``
through the runner from the compose file's directory.  Like the reference
they return the engine's exit code (``status`` a dict) rather than raising
when the engine fails; bad input (no compose file, unknown env, broken YAML)
and a missing engine raise.  ``on_line`` receives each output line as it
arrives (the CLI shows them on stderr); nothing is printed here.

The ``*_stack`` variants take a resolved :class:`Stack` and return
:class:`ComposeRun` / :class:`StatusResult` with the commands that ran.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from scitex_container.docker import podman_compose, ps
from scitex_container.docker.engine import DOCKER_V1, PODMAN_COMPOSE, podman_binary
from scitex_container.docker.stack import (
    ENGINE_ENV,
    QUERY_TIMEOUT,
    ComposeRun,
    LineSink,
    Stack,
    engine_message,
    invoke,
    make_result,
    resolve,
)
from scitex_container.errors import BadInputError, CheckFailedError
from scitex_container.process import runner
from scitex_container.result import Result

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StatusResult(Result):
    compose_file: Path
    project: str
    engine: str
    containers: tuple[dict, ...]
    returncode: int
    command: tuple[str, ...]
    error: str = ""

    def reference_dict(self) -> dict:
        """The reference shape: compose_file, containers, returncode."""
        return {
            "compose_file": str(self.compose_file),
            "containers": [dict(c) for c in self.containers],
            "returncode": self.returncode,
        }


def rebuild_stack(
    stack: Stack, *, services: Sequence[str] = (), on_line: LineSink | None = None
) -> ComposeRun:
    argv, code, lines = invoke(stack, ["build", "--no-cache", *services], on_line)
    return make_result(stack, "rebuild", code, [argv], lines)


def up_stack(
    stack: Stack,
    *,
    services: Sequence[str] = (),
    build: bool = False,
    on_line: LineSink | None = None,
) -> ComposeRun:
    args = ["up", "-d", *(["--build"] if build else []), *services]
    argv, code, lines = invoke(stack, args, on_line)
    return make_result(stack, "up", code, [argv], lines)


def _remove_podman_networks(stack: Stack) -> list[tuple[str, ...]]:
    """podman-compose 1.0.x leaves the project's network behind; ``down`` removes it."""
    podman = podman_binary(stack.engine)
    label = f"label=io.podman.compose.project={stack.project}"
    listing = runner.run(
        [podman, "network", "ls", "--format", "{{.Name}}", "--filter", label],
        check=False,
        readonly=True,
        timeout=QUERY_TIMEOUT,
    )
    commands: list[tuple[str, ...]] = []
    for name in sorted(set(listing.stdout.split())) if listing.returncode == 0 else []:
        argv = (podman, "network", "rm", name)
        commands.append(argv)
        done = runner.run(argv, check=False, timeout=QUERY_TIMEOUT)
        if done.returncode != 0:
            log.warning("could not remove network %s: %s", name, done.stderr.strip()[-200:])
    return commands


def down_stack(
    stack: Stack, *, volumes: bool = False, on_line: LineSink | None = None
) -> ComposeRun:
    argv, code, lines = invoke(stack, ["down", *(["-v"] if volumes else [])], on_line)
    commands = [argv]
    if code == 0 and stack.engine.flavor == PODMAN_COMPOSE:
        commands += _remove_podman_networks(stack)
    return make_result(stack, "down", code, commands, lines)


def restart_stack(stack: Stack, *, on_line: LineSink | None = None) -> ComposeRun:
    """``down`` then ``up -d``; a failing ``down`` ends it with its own code."""
    down = down_stack(stack, on_line=on_line)
    if down.returncode != 0:
        return make_result(
            stack, "restart", down.returncode, list(down.commands), down.output_tail.splitlines()
        )
    up = up_stack(stack, on_line=on_line)
    return make_result(
        stack,
        "restart",
        up.returncode,
        [*down.commands, *up.commands],
        up.output_tail.splitlines(),
    )


def logs_stack(
    stack: Stack,
    *,
    services: Sequence[str] = (),
    tail: int | None = None,
    follow: bool = False,
    on_line: LineSink | None = None,
) -> tuple[ComposeRun, list[str]]:
    """The services' log lines (without podman-compose's own chatter)."""
    if tail is not None and (not isinstance(tail, int) or tail < 0):
        raise BadInputError(f"must be a whole number >= 0, got {tail!r}", "tail")
    args = [
        "logs",
        *(["--tail", str(tail)] if tail is not None else []),
        *(["-f"] if follow else []),
        *services,
    ]
    shown: list[str] = []
    filt = podman_compose.LogFilter() if stack.engine.flavor == PODMAN_COMPOSE else None

    def each(line: str) -> None:
        for ready in filt.feed(line) if filt else [line]:
            shown.append(ready)
            if on_line is not None:
                on_line(ready)

    argv, code, lines = invoke(stack, args, each)
    if filt is not None:
        filt.close()
    return make_result(stack, "logs", code, [argv], lines), shown


def status_stack(stack: Stack) -> StatusResult:
    """The project's containers, read with whichever query the engine supports."""
    label_key = "io.podman.compose.project"
    if stack.engine.flavor == PODMAN_COMPOSE:
        argv = [
            podman_binary(stack.engine),
            "ps",
            "-a",
            "--format",
            "json",
            "--filter",
            f"label={label_key}={stack.project}",
        ]
        parse = ps.parse_podman_ps
    elif stack.engine.flavor == DOCKER_V1:
        argv = [
            "docker",
            "ps",
            "-a",
            "--no-trunc",
            "--format",
            "{{json .}}",
            "--filter",
            f"label=com.docker.compose.project={stack.project}",
        ]
        parse = ps.parse_docker_ps
    else:
        argv = stack.argv("ps", "--all", "--format", "json")
        parse = ps.parse_compose_ps
    done = runner.run(
        argv,
        check=False,
        readonly=True,
        cwd=stack.compose_file.parent,
        timeout=QUERY_TIMEOUT,
        env=ENGINE_ENV,
    )
    containers: list[dict] = []
    error = ""
    if done.returncode == 0:
        try:
            containers = parse(done.stdout)
        except ValueError as exc:
            raise CheckFailedError(
                f"`{' '.join(argv)}` printed output we cannot read: {exc}"
            ) from exc
    else:
        error = engine_message(done.stderr or done.stdout)
    return StatusResult(
        stack.compose_file,
        stack.project,
        stack.engine.name,
        tuple(containers),
        done.returncode,
        tuple(argv),
        error,
    )


# -- the reference functions -------------------------------------------------


def rebuild(
    env: str = "dev",
    project_dir: str | os.PathLike | None = None,
    *,
    services: Sequence[str] = (),
    compose_cmd: str | Sequence[str] | None = None,
    project_name: str | None = None,
    on_line: LineSink | None = None,
) -> int:
    """Rebuild the images without the cache (``build --no-cache``); the exit code.

    Args:
        env: The environment: uses ``docker-compose.<env>.yml`` (else
            ``docker-compose.yml``).
        project_dir: Directory of the compose file (or the file itself); None searches
            upward from here.
        services: Only these services (default: all).
        compose_cmd: The compose command to use (e.g. ``podman-compose``); None detects
            it (``$SCITEX_CONTAINER_COMPOSE``, docker compose, podman-compose).
        project_name: The compose project name (default: as Compose chooses it).
        on_line: Called with each output line of the compose command while it runs
            (None: collected).
    """
    stack = resolve(env, project_dir, compose_cmd=compose_cmd, project_name=project_name)
    return rebuild_stack(stack, services=services, on_line=on_line).returncode


def restart(
    env: str = "dev",
    project_dir: str | os.PathLike | None = None,
    *,
    compose_cmd: str | Sequence[str] | None = None,
    project_name: str | None = None,
    on_line: LineSink | None = None,
) -> int:
    """``down`` then ``up -d``: up's exit code, or down's if down failed.

    Args:
        env: The environment: uses ``docker-compose.<env>.yml`` (else
            ``docker-compose.yml``).
        project_dir: Directory of the compose file (or the file itself); None searches
            upward from here.
        compose_cmd: The compose command to use (e.g. ``podman-compose``); None detects
            it (``$SCITEX_CONTAINER_COMPOSE``, docker compose, podman-compose).
        project_name: The compose project name (default: as Compose chooses it).
        on_line: Called with each output line of the compose command while it runs
            (None: collected).
    """
    stack = resolve(env, project_dir, compose_cmd=compose_cmd, project_name=project_name)
    return restart_stack(stack, on_line=on_line).returncode


def status(
    env: str = "dev",
    project_dir: str | os.PathLike | None = None,
    *,
    compose_cmd: str | Sequence[str] | None = None,
    project_name: str | None = None,
) -> dict:
    """``{"compose_file", "containers": [{name, state, image, raw}], "returncode"}``.

    Args:
        env: The environment: uses ``docker-compose.<env>.yml`` (else
            ``docker-compose.yml``).
        project_dir: Directory of the compose file (or the file itself); None searches
            upward from here.
        compose_cmd: The compose command to use (e.g. ``podman-compose``); None detects
            it (``$SCITEX_CONTAINER_COMPOSE``, docker compose, podman-compose).
        project_name: The compose project name (default: as Compose chooses it).
    """
    stack = resolve(env, project_dir, compose_cmd=compose_cmd, project_name=project_name)
    return status_stack(stack).reference_dict()


def up(
    env: str = "dev",
    project_dir: str | os.PathLike | None = None,
    *,
    services: Sequence[str] = (),
    build: bool = False,
    compose_cmd: str | Sequence[str] | None = None,
    project_name: str | None = None,
    on_line: LineSink | None = None,
) -> int:
    """Start the stack in the background (``up -d``); the exit code.

    Args:
        env: The environment: uses ``docker-compose.<env>.yml`` (else
            ``docker-compose.yml``).
        project_dir: Directory of the compose file (or the file itself); None searches
            upward from here.
        services: Only these services (default: all).
        build: Build the images before starting (``up --build``).
        compose_cmd: The compose command to use (e.g. ``podman-compose``); None detects
            it (``$SCITEX_CONTAINER_COMPOSE``, docker compose, podman-compose).
        project_name: The compose project name (default: as Compose chooses it).
        on_line: Called with each output line of the compose command while it runs
            (None: collected).
    """
    stack = resolve(env, project_dir, compose_cmd=compose_cmd, project_name=project_name)
    return up_stack(stack, services=services, build=build, on_line=on_line).returncode


def down(
    env: str = "dev",
    project_dir: str | os.PathLike | None = None,
    *,
    volumes: bool = False,
    compose_cmd: str | Sequence[str] | None = None,
    project_name: str | None = None,
    on_line: LineSink | None = None,
) -> int:
    """Stop and remove the stack's containers (and its network); the exit code.

    Args:
        env: The environment: uses ``docker-compose.<env>.yml`` (else
            ``docker-compose.yml``).
        project_dir: Directory of the compose file (or the file itself); None searches
            upward from here.
        volumes: Also remove the stack's volumes (``down -v``).
        compose_cmd: The compose command to use (e.g. ``podman-compose``); None detects
            it (``$SCITEX_CONTAINER_COMPOSE``, docker compose, podman-compose).
        project_name: The compose project name (default: as Compose chooses it).
        on_line: Called with each output line of the compose command while it runs
            (None: collected).
    """
    stack = resolve(env, project_dir, compose_cmd=compose_cmd, project_name=project_name)
    return down_stack(stack, volumes=volumes, on_line=on_line).returncode


def logs(
    env: str = "dev",
    project_dir: str | os.PathLike | None = None,
    *,
    services: Sequence[str] = (),
    tail: int | None = None,
    follow: bool = False,
    compose_cmd: str | Sequence[str] | None = None,
    project_name: str | None = None,
    on_line: LineSink | None = None,
) -> dict:
    """``{"compose_file", "lines", "returncode"}``: the services' log lines.

    Args:
        env: The environment: uses ``docker-compose.<env>.yml`` (else
            ``docker-compose.yml``).
        project_dir: Directory of the compose file (or the file itself); None searches
            upward from here.
        tail: Show only the last N lines of each service's log.
        follow: Keep streaming new lines (``logs -f``).
        compose_cmd: The compose command to use (e.g. ``podman-compose``); None detects
            it (``$SCITEX_CONTAINER_COMPOSE``, docker compose, podman-compose).
        project_name: The compose project name (default: as Compose chooses it).
        on_line: Called with each output line of the compose command while it runs
            (None: collected).
    """
    stack = resolve(env, project_dir, compose_cmd=compose_cmd, project_name=project_name)
    run, shown = logs_stack(stack, services=services, tail=tail, follow=follow, on_line=on_line)
    return {"compose_file": str(run.compose_file), "lines": shown, "returncode": run.returncode}
