"""Fixtures for session tests that run as the unprivileged user, as real users do.

Sessions are started with ``runuser -u scitex-test -- <python> -m
scitex_container session ...``, where ``<python>`` is a world-readable venv
(``uservenv.py``).  Each test gets a workspace owned by that user under
/var/tmp and its own state directory; at teardown every job and instance
that a test's records name is cancelled or stopped, so a failing test never
leaves anything behind (and tests never touch other users' or helpers' jobs).
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

TEST_USER = "scitex-test"
REPO = Path(__file__).resolve().parents[3]


def _user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(TEST_USER)
    except KeyError:
        message = f"user {TEST_USER} is required (run scripts/setup-host.sh as root)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="session")
def user_python() -> Path:
    if os.geteuid() != 0:
        pytest.skip("running sessions as another user needs root (runuser)")
    _user()
    from uservenv import user_python as make

    return make(REPO)


@pytest.fixture(scope="session")
def user_image(busybox_sif: Path) -> Path:
    """The busybox image, readable by the test user."""
    mode = busybox_sif.stat().st_mode
    assert mode & 0o004, f"{busybox_sif} must be world-readable"
    return busybox_sif


@dataclass
class UserSession:
    """Runs the CLI as the test user in one workspace."""

    python: Path
    root: Path
    state: Path
    project: Path
    env: dict[str, str]

    def argv(self, *args: str, env: dict[str, str] | None = None) -> list[str]:
        """The CLI with ``args``, run as the test user in the workspace's environment."""
        full_env = {**self.env, **(env or {})}
        return [
            "runuser",
            "-u",
            TEST_USER,
            "--",
            "env",
            *(f"{k}={v}" for k, v in full_env.items()),
            str(self.python),
            "-m",
            "scitex_container",
            *args,
        ]

    def cli(
        self,
        *args: str,
        input: str | None = None,
        timeout: float = 300,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.argv(*args, env=env),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
        )

    def start_json(self, image: Path, *extra: str) -> dict:
        """``session start`` on SLURM (:data:`sessionkit.START`); its JSON record."""
        from sessionkit import START

        done = self.cli("--json", *START, str(image), "-p", str(self.project), *extra)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def as_user(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["runuser", "-u", TEST_USER, "--", *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
        )

    def records(self) -> list[dict]:
        out = []
        if self.state.is_dir():
            for path in sorted(self.state.glob("*/session.json")):
                out.append(json.loads(path.read_text()))
        return out

    def instances(self) -> set[str]:
        """Names of the test user's instances on this host (exact)."""
        done = self.as_user("apptainer", "instance", "list", "--json")
        assert done.returncode == 0, done.stderr
        return {i["instance"] for i in json.loads(done.stdout).get("instances", [])}

    def active_jobs(self) -> set[str]:
        done = self.as_user("squeue", "-h", "--me", "-o", "%i")
        assert done.returncode == 0, done.stderr
        return {line.strip() for line in done.stdout.splitlines() if line.strip()}


def make_workspace(python: Path) -> UserSession:
    user = _user()
    root = Path(tempfile.mkdtemp(prefix="scitex-session-test-", dir="/var/tmp"))
    (root / "state").mkdir()
    (root / "proj").mkdir()
    (root / "cache").mkdir()
    for path in (root, root / "state", root / "proj", root / "cache"):
        os.chown(path, user.pw_uid, user.pw_gid)
    os.chmod(root, 0o755)
    # runuser keeps the caller's XDG_CACHE_HOME (a root-only test directory):
    # the user gets a cache of its own in the workspace.
    env = {
        "SCITEX_CONTAINER_SESSIONS_DIR": str(root / "state"),
        "XDG_CACHE_HOME": str(root / "cache"),
        "PATH": os.environ["PATH"],
    }
    return UserSession(python, root, root / "state", root / "proj", env)


def cleanup_workspace(ws: UserSession) -> None:
    """Cancel every job and stop every instance the workspace's records name."""
    recs = ws.records()
    for rec in recs:
        if rec.get("job_id"):
            ws.as_user("scancel", rec["job_id"])
    for rec in recs:
        if rec.get("instance") and rec["instance"] in ws.instances():
            ws.as_user("apptainer", "instance", "stop", "--timeout", "3", rec["instance"])
    shutil.rmtree(ws.root, ignore_errors=True)


@pytest.fixture
def workspace(user_python: Path) -> Iterator[UserSession]:
    ws = make_workspace(user_python)
    try:
        yield ws
    finally:
        cleanup_workspace(ws)
