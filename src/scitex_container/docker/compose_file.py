"""Finding the compose file for an environment, checking its YAML, naming its project.

A directory is searched for, in order::

    docker-compose.<env>.yml  docker-compose.<env>.yaml
    docker-compose.yml        docker-compose.yaml
    compose.yml               compose.yaml

With ``project_dir`` only that directory is searched.  Otherwise the search
starts in the current directory and walks upward, but never past a
repository root (a directory holding ``.git``) or the home directory: a
compose file above them belongs to some other project.  The first directory
that holds any compose file is the project; if none of its files fits the
env, the env is unknown there and the error lists what was found.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from scitex_container import envvars
from scitex_container.errors import BadInputError, NotFoundError

log = logging.getLogger(__name__)

GENERIC_NAMES = ("docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml")
_ENV_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")  # never `-x`, `.`, `..`
_ANY_COMPOSE_RE = re.compile(r"^(?:docker-)?compose(?:\.[A-Za-z0-9_.-]+)?\.ya?ml$")
_ENV_FILE_RE = re.compile(r"^docker-compose\.([A-Za-z0-9_.-]+)\.ya?ml$")
_PROJECT_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
#: Compose's own variable for the project name (honoured like `docker compose` does).


def candidate_names(env: str) -> tuple[str, ...]:
    """File names tried in one directory, best first."""
    check_env(env)
    return (f"docker-compose.{env}.yml", f"docker-compose.{env}.yaml", *GENERIC_NAMES)


def check_env(env: object) -> str:
    if not isinstance(env, str) or not _ENV_RE.match(env):
        raise BadInputError(
            f"must be a name of letters, digits, `.`, `_` or `-`, got {env!r}", "env"
        )
    return env


def compose_files_in(directory: Path) -> list[str]:
    """Names of every compose-looking file in ``directory``, sorted."""
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    return sorted(n for n in names if _ANY_COMPOSE_RE.match(n) and (directory / n).is_file())


def _pick(directory: Path, env: str, found: list[str]) -> Path:
    for name in candidate_names(env):
        if name in found:
            if name in GENERIC_NAMES:
                others = [n for n in found if _ENV_FILE_RE.match(n)]
                if others:
                    log.warning(
                        "no docker-compose.%s.yml in %s; using %s (also there: %s)",
                        env,
                        directory,
                        name,
                        ", ".join(others),
                    )
            return directory / name
    raise BadInputError(
        f"no compose file for env `{env}` in {directory}; found: {', '.join(found)} "
        f"(pass --env with one of them, or add docker-compose.{env}.yml)",
        "env",
    )


def search_dirs(start: Path, home: Path | None = None) -> list[Path]:
    """``start`` and its parents up to the repository root or home, whichever comes first.

    When neither bounds the walk (outside home and outside any repository),
    only ``start`` itself is searched: walking on to ``/`` could pick up an
    unrelated project's compose file.
    """
    home = (home or Path.home()).resolve()
    dirs: list[Path] = []
    current = start.resolve()
    while True:
        dirs.append(current)
        if current == home or (current / ".git").exists():
            return dirs
        if current.parent == current:
            return dirs[:1]
        current = current.parent


def find_compose_file(
    env: str = "dev",
    project_dir: str | os.PathLike | None = None,
    *,
    cwd: str | os.PathLike | None = None,
    home: str | os.PathLike | None = None,
) -> Path:
    """The absolute path of the compose file for ``env`` (see the module doc).

    Args:
        project_dir: Directory of the compose file (or the file itself); None searches
            upward from here.
        cwd: Where the upward search starts (default: the working directory).
        home: The search stops at this directory (default: the user's home).
    """
    check_env(env)
    if project_dir is not None:
        base = Path(project_dir).expanduser()
        if base.is_file():
            return base.resolve()
        if not base.is_dir():
            raise NotFoundError(f"no such directory: {base}", "project_dir")
        dirs = [base.resolve()]
    else:
        dirs = search_dirs(Path(cwd) if cwd else Path.cwd(), Path(home) if home else None)
    for directory in dirs:
        found = compose_files_in(directory)
        if found:
            return _pick(directory, env, found)
    tried = ", ".join(candidate_names(env))
    where = str(dirs[0]) if len(dirs) == 1 else f"{dirs[0]} or its parents up to {dirs[-1]}"
    field = "project_dir" if project_dir is not None else None
    raise NotFoundError(f"no compose file ({tried}) in {where}", field)


@dataclass(frozen=True)
class YamlProblem:
    """A YAML syntax error: 1-based line (0 when unknown) and pyyaml's message."""

    line: int
    message: str


def load_compose(path: Path) -> tuple[dict | None, YamlProblem | None]:
    """Parse the compose file with pyyaml: (data, None) or (None, problem)."""
    import yaml  # type: ignore[import-untyped]

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInputError(f"cannot read compose file: {exc}", str(path)) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        parts = [getattr(exc, "context", None), getattr(exc, "problem", None)]
        message = "; ".join(p for p in parts if p) or str(exc).splitlines()[0]
        return None, YamlProblem(line, message)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        return None, YamlProblem(1, f"top level must be a mapping, got {type(data).__name__}")
    return data, None


def normalize_project_name(name: str) -> str:
    """Compose's rule: lower case, only ``[a-z0-9_-]``, starting with a letter or digit."""
    cleaned = re.sub(r"[^a-z0-9_-]", "", name.lower())
    return cleaned.lstrip("_-")


def project_name(compose_file: Path, explicit: str | None = None, data: dict | None = None) -> str:
    """The project name, chosen as ``docker compose`` does.

    ``explicit`` (``-p``), else ``$COMPOSE_PROJECT_NAME``, else the file's
    top-level ``name:``, else the compose file's directory name (normalized).
    We always pass it with ``-p`` so every engine acts on the same project.
    """
    candidates = (
        (explicit, "project_name"),
        (os.environ.get(envvars.COMPOSE_PROJECT_NAME) or None, envvars.COMPOSE_PROJECT_NAME),
        ((data or {}).get("name"), f"{compose_file}: name"),
    )
    for value, where in candidates:
        if value is None:
            continue
        if not isinstance(value, str) or not _PROJECT_RE.match(value):
            raise BadInputError(
                f"a project name is lower-case letters, digits, `_` and `-`, got {value!r}", where
            )
        return value
    derived = normalize_project_name(compose_file.parent.name)
    if not derived:
        raise BadInputError(
            f"cannot derive a project name from directory {compose_file.parent.name!r}; "
            "pass a project name",
            "project_name",
        )
    return derived
