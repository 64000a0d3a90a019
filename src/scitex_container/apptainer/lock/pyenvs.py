"""Which Python environment a lock's ``[pip]`` is, and where the others go.

An image may hold several Python environments: the system's (``/usr``, its
``dist-packages`` under ``/usr/local`` and ``/usr``) and others, each a
prefix ``P`` with ``P/lib/python3*/site-packages`` and ``P/bin/python3``:
under ``/opt`` (``/opt/venv``, a conda base ``/opt/conda`` and its
``/opt/conda/envs/*``), top-level virtualenvs (``/venv``, with
``pyvenv.cfg``) and, for the exec capture, any prefix whose ``bin`` is on
the runtime ``PATH``.  An environment is named by its ``sys.prefix``.
The seed captured ``pip freeze`` with the
``pip`` the image's runtime ``PATH`` finds first (its ``%environment`` may
put ``/opt/venv/bin`` first), so that environment is the lock's ``[pip]``
(:data:`PRIMARY`); every other environment is kept whole in header comments,
one line each, ``# pip-env: /usr name==version``, which a reader that knows
nothing of them (the seed's) skips.  Nothing is merged: a name installed in
two environments at two versions is in both, and :func:`conflicts` names it.

Both captures decide the runtime environment by the same rule
(:func:`runtime_environment`): the first ``pip`` on ``PATH`` (else
``pip3``), and the interpreter of its ``#!`` line (through ``PATH`` for
``#!/usr/bin/env NAME``); its prefix (:func:`environment_of`) is the
environment.  Without a pip on ``PATH`` the
system environment is ``[pip]`` when it has packages.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from scitex_container.errors import TreeUnreadable

#: The system environment (``/usr/bin/python3*``, ``/usr/local/...``).
SYSTEM = "/usr"
#: apptainer's ``PATH`` before the image's environment scripts run.
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#: Where an image's environment scripts are (sourced in name order).
ENV_SCRIPTS = ".singularity.d/env/*.sh"
#: apptainer's own scripts: they change PATH only for apps or ``--env PATH``.
RUNTIME_SCRIPTS = frozenset(
    ("01-base.sh", "94-appsbase.sh", "95-apps.sh", "99-base.sh", "99-runtimevars.sh")
)
_CONTROL_RE = re.compile(r"(^|[\s;])(if|case|while|for)\s|&&|\|\||\bsource\b|^\s*\.\s")

#: What may change PATH in a way a static reader cannot evaluate: sourcing a
#: file, eval, conda/venv activation, shell functions, ``cd`` + relative paths.
_OPAQUE_RE = re.compile(
    r"(^|[\s;&|(])(source|\.|eval|exec|activate|conda|mamba|micromamba|module|pyenv|alias)"
    r"(\s|$)|\(\)\s*\{?|^\s*function\s"
)
_PATH_SET_RE = re.compile(r"^\s*(?:export\s+)?PATH=(.*?)\s*(?:;\s*)?$")
_ENV_ID_RE = re.compile(r"^/\S*$")


_PREFIX_RE = re.compile(r"^(/.*?)/(?:bin|lib|lib64)(?:/|$)")
#: Prefixes that are the system's environment.
SYSTEM_PREFIXES = frozenset(("", "/", "/usr", "/usr/local"))


def environment_of(path: str) -> str:
    """The environment (its ``sys.prefix``) an interpreter or a site directory belongs to.

    The prefix is the path before the first ``bin``/``lib``/``lib64``
    component (``/venv/bin/python3`` -> ``/venv``,
    ``/opt/conda/envs/py/lib/python3.11/site-packages`` -> ``/opt/conda/envs/py``),
    taken as written, never through ``readlink`` (every venv's ``python3``
    links to the system's).  ``/usr`` and ``/usr/local`` are the system's.
    """
    return prefix_environment(_prefix(path))


def _prefix(path: str) -> str:
    m = _PREFIX_RE.match("/" + path.strip("/"))
    return m.group(1) if m else ""


def prefix_environment(prefix: str) -> str:
    """The environment a ``sys.prefix`` is: the system's for ``/usr``, ``/usr/local``."""
    prefix = "/" + prefix.strip("/")
    return SYSTEM if prefix.rstrip("/") in SYSTEM_PREFIXES or prefix == "/" else prefix


def runtime_path(scripts: Mapping[str, str]) -> list[str]:
    """``PATH`` after the environment scripts (``name -> text``) set it, as a list.

    Only plain assignments (``PATH=...``, ``export PATH=...``) using
    ``$PATH``/``${PATH}`` are understood; any other expansion in a ``PATH``
    line, and anything that may change PATH unseen (sourcing a file with
    ``.``/``source``, ``eval``, ``conda activate``, a shell function)
    raises :class:`~scitex_container.errors.TreeUnreadable` (the exec
    capture then asks the image).
    """
    path = DEFAULT_PATH
    for name, text in sorted(scripts.items()):
        if name.rsplit("/", 1)[-1] in RUNTIME_SCRIPTS:
            continue
        lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("#")]
        for line in lines:
            if _OPAQUE_RE.search(line):
                # the file may set PATH in ways only running it tells: never guess
                raise TreeUnreadable(f"{name} runs {line.strip()[:60]!r}: read by exec")
        sets_path = any(_PATH_SET_RE.match(ln) for ln in lines)
        if sets_path and any(_CONTROL_RE.search(ln) for ln in lines):
            raise TreeUnreadable(f"{name} sets PATH under a condition")
        for line in lines:
            m = _PATH_SET_RE.match(line)
            if not m:
                if re.search(r"\bPATH\b\s*=", line) and "LD_LIBRARY_PATH" not in line:
                    raise TreeUnreadable(f"PATH set in a way not read statically: {line.strip()!r}")
                continue
            value = m.group(1)
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            value = value.replace("${PATH}", path).replace("$PATH", path)
            if "$" in value or "`" in value or " " in value:
                raise TreeUnreadable(f"PATH set from an expansion: {line.strip()!r}")
            path = value
    return [d for d in path.split(":") if d]


def interpreter(shebang: str, which: Callable[[str], str | None]) -> str:
    """The interpreter a ``#!`` line (without ``#!``) names; ``which`` finds a name on PATH."""
    words = shebang.split()
    if not words:
        return ""
    if words[0].endswith("/env") and len(words) > 1:
        return which(words[-1]) or ""
    return words[0]


def runtime_environment(pip_path: str, shebang: str, which: Callable[[str], str | None]) -> str:
    """The environment of the runtime ``pip`` ("" when there is none)."""
    if not pip_path:
        return ""
    interp = interpreter(shebang, which)
    return environment_of(interp) if interp else environment_of(pip_path)


def choose_primary(runtime: str, envs: Mapping[str, Mapping[str, str]]) -> str:
    """The environment that fills ``[pip]``: the runtime one, else the system's."""
    if runtime and runtime in envs:
        return runtime
    if SYSTEM in envs:
        return SYSTEM
    return runtime or (sorted(envs)[0] if envs else "")


def conflicts(
    primary: str, pip: Mapping[str, str], others: Mapping[str, Mapping[str, str]]
) -> dict[str, dict[str, str]]:
    """``{name: {environment: version}}`` for names at different versions in several."""
    from scitex_container.apptainer.lock.syntax import dup_key, normalize_pip_version, pip_identity

    seen: dict[str, dict[str, str]] = {}
    for env, values in [(primary or SYSTEM, pip), *sorted(others.items())]:
        for key, version in values.items():
            ident = pip_identity(key)
            # a URL line (``name @ url``) is its name at that URL
            shown = str(version) or ("@ " + ident.split(" @ ", 1)[1] if " @ " in ident else "")
            seen.setdefault(dup_key("pip", key), {})[env] = shown
    return {
        name: by_env
        for name, by_env in sorted(seen.items())
        if len(by_env) > 1 and len({normalize_pip_version(v) for v in by_env.values()}) > 1
    }


def check_environment(value: str) -> str:
    """``value`` if it names an environment (an absolute path, no spaces); else ValueError."""
    if not _ENV_ID_RE.match(value):
        raise ValueError(f"not an environment path: {value!r}")
    return value
