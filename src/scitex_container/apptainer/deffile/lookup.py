"""Where .def files are looked up."""

from __future__ import annotations

import os
from pathlib import Path

from scitex_container import envvars
from scitex_container.errors import NotFoundError
from scitex_container.files.pathinfo import regular_file


def _candidates() -> list[Path]:
    out: list[Path] = []
    override = os.environ.get(envvars.CONTAINERS_DIR)
    if override:
        out.append(Path(override).expanduser())
    out.append(Path.cwd() / "containers")
    # Package-relative: a source checkout's containers/ beside src/.
    out.append(Path(__file__).resolve().parents[3] / "containers")
    out.append(Path.home() / ".scitex" / "containers")
    return out


def find_containers_dir() -> Path:
    """Find the containers directory.

    Search order: ``$SCITEX_CONTAINER_DIR``, ``./containers/``, the
    package-relative ``containers/`` (source tree), ``~/.scitex/containers/``.

    Raises:
        NotFoundError (a FileNotFoundError): if none of them exists.
    """
    candidates = _candidates()
    for path in candidates:
        if path.is_dir():
            return path
    tried = ", ".join(str(p) for p in candidates)
    raise NotFoundError(f"no containers directory found (tried {tried})", "containers dir")


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
    return path.resolve()
