"""Where .def files are looked up."""

from __future__ import annotations

import os
from pathlib import Path

from scitex_container import envvars
from scitex_container.errors import BadInputError, NotFoundError
from scitex_container.files.pathinfo import regular_file


def _override() -> Path | None:
    override = os.environ.get(envvars.CONTAINERS_DIR)
    return Path(override).expanduser() if override else None


def source_tree(package: Path | None = None) -> Path | None:
    """The ``src/`` the package sits in when run from a source checkout, else None."""
    top = (package or Path(__file__).resolve().parents[2]).parent
    if top.name != "src" or not (top.parent / "pyproject.toml").is_file():
        return None
    return top


def _candidates() -> list[Path]:
    out: list[Path] = []
    override = _override()
    if override is not None:
        out.append(override)
    out.append(Path.cwd() / "containers")
    # A source checkout's src/containers/ (the package's own tree); an installed package
    # (site-packages/) has none: its neighbour is no place the README names.
    top = source_tree()
    if top is not None:
        out.append(top / "containers")
    out.append(Path.home() / ".scitex" / "containers")
    return out


def find_containers_dir() -> Path:
    """Find the containers directory.

    Search order: ``$SCITEX_CONTAINER_DIR`` (taken as it is), then, as the
    seed searched them, ``./containers/``, the package-relative
    ``containers/`` (source tree) and ``~/.scitex/containers/``, each only
    when it holds a ``.def`` file (an unrelated ``containers/`` is skipped).

    Raises:
        NotFoundError (a FileNotFoundError): if none of them qualifies.
    """
    candidates = _candidates()
    override = _override()
    for path in candidates:
        if path == override and path.is_dir():
            return path
        if path.is_dir() and any(path.glob("*.def")):
            return path
    tried = ", ".join(str(p) for p in candidates)
    raise NotFoundError(
        f"no containers directory with a .def found (tried {tried})", "containers dir"
    )


def resolve_def(def_name: str, def_path: str | os.PathLike | None) -> Path:
    """The .def file a build means: ``def_path`` or ``<containers dir>/<def_name>.def``."""
    if def_path is not None:
        path = Path(def_path).expanduser()
    else:
        name = def_name if def_name.endswith(".def") else f"{def_name}.def"
        path = find_containers_dir() / name
    try:
        os.stat(path)
    except FileNotFoundError:
        raise NotFoundError(f"definition file not found: {path}", str(path)) from None
    except OSError:
        pass  # said as what it is (permission, link loop, ...) just below
    regular_file(path, "def file")
    resolved = path.resolve()
    try:
        os.fspath(resolved).encode("utf-8")
    except UnicodeEncodeError:
        shown = os.fsencode(resolved).decode("utf-8", "backslashreplace")
        raise BadInputError(  # apptainer 1.4.5: "unable to open file ...: no such file"
            "the def's path is not valid UTF-8, which apptainer cannot open; rename it", shown
        ) from None
    return resolved
