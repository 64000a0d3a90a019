"""A real two-service compose project for tests, and its removal.

One service is built from a Dockerfile ``FROM localhost/busybox:test``, the
other runs that local image directly.  Names are unique per test run; the
finalizer removes the project's containers, networks and built images with
the raw ``podman`` (not our code), even when the test failed half-way.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

BASE_IMAGE = "localhost/busybox:test"
#: Every layer built for a test project carries this label, so cleanup finds
#: the images a --no-cache rebuild leaves untagged too.
IMAGE_LABEL = "scitex.test.project"
# PID 1 must answer SIGTERM, or every `down` waits podman's 10 s stop timeout.
SERVE = "trap 'exit 0' TERM; echo {name}-started; {extra}sleep 300 & wait"


@dataclass(frozen=True)
class ComposeProject:
    dir: Path
    name: str
    image: str

    @property
    def file(self) -> Path:
        return self.dir / "docker-compose.dev.yml"

    def containers(self) -> list[str]:
        out = podman(
            "ps",
            "-a",
            "--format",
            "{{.Names}}",
            "--filter",
            f"label=io.podman.compose.project={self.name}",
        )
        return sorted(out.split())

    def networks(self) -> list[str]:
        out = podman(
            "network",
            "ls",
            "--format",
            "{{.Name}}",
            "--filter",
            f"label=io.podman.compose.project={self.name}",
        )
        return sorted(out.split())

    def image_exists(self, image: str | None = None) -> bool:
        return subprocess.run(["podman", "image", "exists", image or self.image]).returncode == 0


def podman(*args: str) -> str:
    return subprocess.run(["podman", *args], capture_output=True, text=True, timeout=120).stdout


def write_project(root: Path, name: str) -> ComposeProject:
    image = f"localhost/{name}-web:dev"
    (root / "web").mkdir(parents=True)
    (root / ".git").mkdir()  # a repository root bounds the upward compose-file search
    (root / "web" / "Dockerfile").write_text(
        textwrap.dedent(f"""\
        FROM {BASE_IMAGE}
        LABEL {IMAGE_LABEL}={name}
        RUN echo built-{name} > /built.txt
        CMD ["sh", "-c", "{SERVE.format(name="web", extra="cat /built.txt; ")}"]
        """)
    )
    (root / "docker-compose.dev.yml").write_text(
        textwrap.dedent(f"""\
        services:
          web:
            build: ./web
            image: {image}
          cache:
            image: {BASE_IMAGE}
            command: ["sh", "-c", "{SERVE.format(name="cache", extra="")}"]
        """)
    )
    return ComposeProject(root, name, image)


def remove_project(name: str, images: list[str]) -> None:
    label = f"label=io.podman.compose.project={name}"
    ids = podman("ps", "-aq", "--filter", label).split()
    if ids:
        podman("rm", "-f", "-t", "0", *ids)
    for net in podman("network", "ls", "-q", "--filter", label).split():
        podman("network", "rm", "-f", net)
    built = podman("images", "-a", "-q", "--filter", f"label={IMAGE_LABEL}={name}").split()
    for image in [*images, *dict.fromkeys(built)]:
        podman("rmi", "-f", image)


def run_cli(
    *args: str, env: dict | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess:
    full = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "scitex_container", *args],
        capture_output=True,
        text=True,
        env=full,
        cwd=cwd,
        timeout=300,
    )
