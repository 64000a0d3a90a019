"""Capture installed versions by reading an image's package databases directly.

No container is started.  From the image (a SIF's squashfs partition or a
sandbox directory, see :mod:`.imagetree`) it reads:

* ``var/lib/dpkg/status``: packages whose status is installed;
* every ``*.dist-info/METADATA`` (+ ``direct_url.json``) and ``*.egg-info``
  of every site directory in :data:`PY_SITE_DIRS`, turned into the lines
  ``pip freeze --all`` prints (``name==version``, ``name @ url`` for URL and
  VCS installs, ``-e location`` for editable installs);
* the ``package.json`` of each global npm package (``<prefix>/lib/node_modules``,
  ``@scope/name`` included), the prefix found the way npm finds it;
* ``lib/apk/db/installed`` on Alpine.

Where this cannot give what the tools would print (an editable install in
a VCS checkout, a legacy ``.egg-link`` develop install, a non-squashfs or
encrypted partition) it raises :class:`~.imagetree.TreeUnreadable` and the
caller falls back to the exec capture, which applies the same rules
(:mod:`.capture_exec`).
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from scitex_container.apptainer.lock.found import Found as Found
from scitex_container.apptainer.lock.found import dpkg_owners as dpkg_owners
from scitex_container.apptainer.lock.found import pip_manager
from scitex_container.apptainer.lock.pkgdb import (
    _headers,
    apk_versions,
    dpkg_config_files,
    dpkg_versions,
    freeze_line,
    freeze_lines_to_map,
    parse_control,
)
from scitex_container.apptainer.lock.pyenvs import (
    ENV_SCRIPTS,
    choose_primary,
    environment_of,
    runtime_environment,
    runtime_path,
)
from scitex_container.apptainer.lock.pysites import PY_SITE_DIRS, VENV_CFG
from scitex_container.apptainer.lock.pysites import python_dists as _python_dists
from scitex_container.apptainer.lock.pysites import python_patterns as _python_patterns
from scitex_container.apptainer.lock.syntax import PipMap
from scitex_container.apptainer.sif.tree import (
    Entry,
    TreeUnreadable,
    open_tree,
    path_matches,
    resolve_link,
)

DPKG_STATUS = "var/lib/dpkg/status"
#: dpkg's file lists: which package installed which path.
DPKG_LISTS = "var/lib/dpkg/info/*.list"
APK_DBS = ("lib/apk/db/installed", "usr/lib/apk/db/installed")
#: Where npm and node may be, and npm config files that may set ``prefix``.
NPM_BINS = ("usr/local/bin/npm", "usr/bin/npm")
NODE_BINS = ("usr/local/bin/node", "usr/bin/node", "usr/bin/nodejs")
NPMRC_FILES = (
    "etc/npmrc",
    "usr/etc/npmrc",
    "usr/local/etc/npmrc",
    "usr/share/nodejs/npm/npmrc",
    "usr/lib/node_modules/npm/npmrc",
    "usr/local/lib/node_modules/npm/npmrc",
)
NODE_PREFIXES = ("usr/local", "usr")
#: dpkg status words (third field of Status) that count as installed.
VCS_DIRS = (".git", ".hg", ".svn", ".bzr")


# --- rules shared with the exec capture -------------------------------------


# --- the capture ----------------------------------------------------------------


def _link_probes() -> list[str]:
    """Directories where a symlink in the middle of a pattern is plausible."""
    probes = list(PY_SITE_DIRS)
    for prefix in NODE_PREFIXES:
        probes += [f"{prefix}/lib/node_modules/*", f"{prefix}/lib/node_modules/@*/*"]
    return probes


def _expand(
    tree,
    patterns: list[str],
    rounds: int = 4,
    nofollow: frozenset[str] = frozenset(),
    probes: Sequence[str] = (),
) -> dict[str, Entry]:
    """Logical image path -> real entry, for everything matching ``patterns``.

    A symlink met on the way is resolved inside the image (never on the host)
    and its target listed in the next round; what is found there is keyed by
    its path through the link, as a program in the image would see it.
    """
    view: dict[str, Entry] = {}
    jobs = [(p, "", "") for p in patterns]  # (real pattern, real prefix, logical prefix)
    seen: set[str] = set()
    for _ in range(rounds):
        jobs = [j for j in jobs if j[0] not in seen]
        if not jobs:
            break
        seen.update(j[0] for j in jobs)
        if probes:  # a listing shows no symlink met half-way down a pattern: ask for those
            depth = max(p.count("/") + 1 for p in probes)
            with ThreadPoolExecutor(max_workers=1) as pool:  # both listings at once
                asked = pool.submit(tree.list, probes, max_depth=depth)
                listing = tree.list(j[0] for j in jobs)
                links = asked.result()
            listing.update({k: e for k, e in links.items() if e.kind == "l" and k not in listing})
            probes = ()
        else:
            listing = tree.list(j[0] for j in jobs)
        nxt = []
        for real_pat, real_prefix, logical_prefix in jobs:
            parts = real_pat.split("/")
            for path, entry in listing.items():
                comps = path.split("/")
                k = min(len(comps), len(parts))
                if not path_matches("/".join(parts[:k]), "/".join(comps[:k])):
                    continue
                logical = logical_prefix + path[len(real_prefix) :] if real_prefix else path
                if entry.kind == "l" and len(comps) <= len(parts) and path not in nofollow:
                    target = resolve_link(path, entry.target or "")
                    rest = "/".join(parts[len(comps) :])
                    nxt.append((f"{target}/{rest}" if rest else target, target, logical))
                elif len(comps) >= len(parts):
                    view[logical] = entry
        jobs = nxt
    return view


def _node_patterns() -> list[str]:
    pats = [*NPM_BINS, *NODE_BINS, *NPMRC_FILES]
    for prefix in NODE_PREFIXES:
        pats += [
            f"{prefix}/lib/node_modules/*/package.json",
            f"{prefix}/lib/node_modules/@*/*/package.json",
        ]
    return pats


def _npm_prefix(view: dict[str, Entry], files: dict[str, bytes]) -> str | None:
    """The global prefix npm would use (image path), or None without npm."""
    if not any(b in view for b in NPM_BINS):
        return None
    for rc in NPMRC_FILES:
        for line in files.get(rc, b"").decode("utf-8", "replace").splitlines():
            key, sep, value = line.partition("=")
            if sep and key.strip() == "prefix" and value.strip():
                return value.strip().strip("\"'").strip("/")
    for node in NODE_BINS:
        if node in view:
            return posixpath.dirname(posixpath.dirname(node))
    return None


def _node_versions(view: dict[str, Entry], files: dict[str, bytes]) -> dict[str, str]:
    prefix = _npm_prefix(view, files)
    if prefix is None:
        return {}
    base = f"{prefix}/lib/node_modules/" if prefix else "lib/node_modules/"
    out: dict[str, str] = {}
    for path, data in files.items():
        if not (path.startswith(base) and path.endswith("/package.json")):
            continue
        name = path[len(base) : -len("/package.json")]
        if name.count("/") != (1 if name.startswith("@") else 0):
            continue
        try:
            manifest = json.loads(data.decode("utf-8", "replace"))
        except ValueError:
            continue
        if isinstance(manifest, dict) and manifest.get("version") is not None:
            out[name] = str(manifest["version"])
    return dict(sorted(out.items()))


def _pip_environments(tree, view: dict[str, Entry], files: dict[str, bytes]) -> dict[str, dict]:
    """``{environment: {key: version}}``, each environment's ``pip freeze --all``."""
    lines: dict[str, list[str]] = {}
    editables = []
    for site, meta_path, direct_path in _python_dists(view):
        headers = _headers(files.get(meta_path, b""))
        name, version = headers.get("name"), headers.get("version")
        if not name or version is None:
            continue
        direct = None
        if direct_path and direct_path in files:
            try:
                direct = json.loads(files[direct_path].decode("utf-8", "replace"))
            except ValueError:
                direct = None
        line = freeze_line(name, version, direct if isinstance(direct, dict) else None)
        if line.startswith("-e "):
            editables.append(line[3:])
        lines.setdefault(environment_of(site), []).append(line)
    _refuse_vcs_editables(tree, editables)
    return {env: dict(sorted(freeze_lines_to_map(ls).items())) for env, ls in lines.items()}


def _runtime_environment(tree, files: dict[str, bytes]) -> str:
    """The environment of the first ``pip`` (else ``pip3``) on the image's runtime PATH."""
    scripts = {
        k: v.decode("utf-8", "replace") for k, v in files.items() if path_matches(ENV_SCRIPTS, k)
    }
    dirs = [d.strip("/") for d in runtime_path(scripts)]  # TreeUnreadable: ask by exec
    dirs = [d for d in dirs if d]
    if not dirs:
        return ""
    # one listing of the PATH directories and their entries; a directory that is
    # a link (``bin`` -> ``usr/bin``) is read through its target
    top = tree.list(dirs, max_depth=max(d.count("/") for d in dirs) + 2)

    def real(path: str) -> tuple[str, Entry | None]:
        for _ in range(8):
            entry = top.get(path)
            if entry is None or entry.kind != "l":
                return path, entry
            path = resolve_link(path, entry.target or "")
        return path, None

    def which(name: str) -> str | None:
        for d in dirs:
            _where, entry = real(f"{real(d)[0]}/{name}")
            if entry is not None and entry.kind == "f":
                return f"/{d}/{name}"
        return None

    pip = which("pip") or which("pip3")
    if pip is None:
        return ""
    d, _, name = pip.strip("/").rpartition("/")
    where = real(f"{real(d)[0]}/{name}")[0]
    first = tree.read({where}).get(where, b"").split(b"\n", 1)[0].decode("utf-8", "replace")
    shebang = first[2:].strip() if first.startswith("#!") else ""
    return runtime_environment(pip, shebang, which)


def _refuse_vcs_editables(tree, locations: list[str]) -> None:
    """pip prints a VCS URL for an editable checkout: only exec can ask git."""
    pats = []
    for loc in locations:
        path = loc.strip("/")
        while path:
            pats += [f"{path}/{d}" for d in VCS_DIRS]
            path = posixpath.dirname(path)
    if pats and tree.list(pats):
        raise TreeUnreadable("an editable install lives in a VCS checkout")


def _installed_paths(
    view: dict[str, Entry], files: dict[str, bytes], primary: str
) -> dict[str, str]:
    """``{pip:<name>|pip@<env>:<name>|node:<name>: image path of its metadata}``."""
    out: dict[str, str] = {}
    for site, meta_path, _direct in _python_dists(view):
        name = _headers(files.get(meta_path, b"")).get("name")
        if not name:
            continue
        where = meta_path if meta_path.endswith(".egg-info") else posixpath.dirname(meta_path)
        out.setdefault(f"{pip_manager(environment_of(site), primary)}:{PipMap.key(name)}", where)
    prefix = _npm_prefix(view, files)
    if prefix is not None:
        base = f"{prefix}/lib/node_modules/" if prefix else "lib/node_modules/"
        for name in _node_versions(view, files):
            out.setdefault(f"node:{name}", base + name)
    return out


def _owners(
    tree, view: dict[str, Entry], files: dict[str, bytes], dpkg: Mapping[str, str], primary: str
) -> dict[str, str]:
    installed = _installed_paths(view, files, primary)
    if DPKG_STATUS not in files or not installed:
        return {}
    lists = {k: e.path for k, e in view.items() if e.kind == "f" and k.endswith(".list")}
    raw = tree.read(set(lists.values()))
    return dpkg_owners(installed, {k: raw[p] for k, p in lists.items() if p in raw}, dpkg)


def static_capture(image: Path) -> Found:
    """Versions in ``image`` read from its files (TreeUnreadable if it cannot)."""
    tree = open_tree(image)
    try:
        patterns = [
            DPKG_STATUS,
            DPKG_LISTS,
            ENV_SCRIPTS,
            VENV_CFG,
            *APK_DBS,
            *_python_patterns(),
            *_node_patterns(),
        ]
        view = _expand(
            tree, patterns, nofollow=frozenset(NPM_BINS + NODE_BINS), probes=_link_probes()
        )
        wanted = {logical: entry.path for logical, entry in view.items() if entry.kind == "f"}
        wanted = {
            k: v
            for k, v in wanted.items()
            if k not in NPM_BINS + NODE_BINS and not k.startswith("var/lib/dpkg/info/")
        }
        raw = tree.read(set(wanted.values()))
        files = {logical: raw[real] for logical, real in wanted.items() if real in raw}
        status = parse_control(files.get(DPKG_STATUS, b"").decode("utf-8", "replace"))
        dpkg = dpkg_versions(status)
        apk: dict[str, str] = {}
        for db in APK_DBS:
            if db in files:
                apk = apk_versions(files[db].decode("utf-8", "replace"))
                break
        envs = _pip_environments(tree, view, files)
        runtime = _runtime_environment(tree, files)
        if runtime and runtime not in envs:
            # the runtime pip's environment is where only the exec capture looks
            raise TreeUnreadable(f"the runtime pip's environment {runtime} is not read statically")
        primary = choose_primary(runtime, envs)
        return Found(
            pip=envs.pop(primary, {}),
            pip_envs=envs,
            pip_environment=primary,
            dpkg=dpkg,
            node=_node_versions(view, files),
            apk=apk,
            image_id=getattr(tree, "image_id", ""),
            owners=_owners(tree, view, files, dpkg, primary),
            dpkg_config_files=dpkg_config_files(status),
        )
    finally:
        tree.close()
