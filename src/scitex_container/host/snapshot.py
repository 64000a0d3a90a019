"""A provenance snapshot of the host, the active container image and dev repos.

:func:`env_snapshot` never raises: a part that cannot be determined is left
``None`` (or out, where the seed left it out) and the reason is added to
``errors``.  The result is plain JSON and follows ``snapshot.schema.json``,
shipped beside this module (:func:`snapshot_schema`): the seed's schema
(``schema_version`` ``"1.0"``: ``container.version/sif_path/sif_sha256/def_hash``,
``host.<package>.installed/version``, ``dev_repos[]``, ``lock_files.pip/dpkg``)
with our fields added beside it, none renamed or retyped
(:mod:`.snapshot_seed` shapes it; :func:`.snapshot_seed.read_snapshot`
reads older documents).
"""

from __future__ import annotations

import json
import os
import platform
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

from scitex_container._version import __version__
from scitex_container.host.snapshot_seed import CONTAINER_FIELDS
from scitex_container.process import runner

SCHEMA_VERSION = "1.0"  # the seed's; our fields are additions, so no bump
GIT_TIMEOUT = 30.0


def snapshot_schema() -> dict:
    """The JSON Schema of :func:`env_snapshot`'s result."""
    text = resources.files("scitex_container.host").joinpath("snapshot.schema.json").read_text()
    return json.loads(text)


def _os_release() -> dict[str, str]:
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        try:
            lines = Path(path).read_text().splitlines()
        except OSError:
            continue
        out = {}
        for line in lines:
            key, sep, value = line.partition("=")
            if sep:
                out[key.strip()] = value.strip().strip('"')
        return out
    return {}


def _memory_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _empty_host() -> dict:
    return {
        key: None
        for key in (
            "os",
            "os_id",
            "os_version_id",
            "kernel",
            "machine",
            "hostname",
            "cpu_count",
            "memory_bytes",
            "python",
        )
    }


def _empty_container() -> dict:
    return dict.fromkeys(CONTAINER_FIELDS) | {"images": []}


def _system(errors: list[str]) -> dict:
    """The machine (our addition; the seed's ``host`` holds only its packages)."""
    release = _os_release()
    host: dict = {
        "os": release.get("PRETTY_NAME") or platform.system(),
        "os_id": release.get("ID"),
        "os_version_id": release.get("VERSION_ID"),
        "kernel": platform.release() or None,
        "machine": platform.machine() or None,
        "hostname": platform.node() or None,
        "cpu_count": os.cpu_count(),
        "memory_bytes": _memory_bytes(),
        "python": platform.python_version(),
        "packages": {},
    }
    try:
        from scitex_container.host.check import check_packages

        host["packages"] = check_packages()
    except Exception as exc:
        errors.append(f"host.packages: {type(exc).__name__}: {exc}")
    return host


#: A repository's own config must not run anything while we only read it (a
#: ``core.fsmonitor`` or ``core.pager`` command in a cloned repo would).
_GIT_SAFE = ("-c", "core.fsmonitor=false", "-c", "core.pager=cat", "--no-pager")


def _git(path: str, *args: str) -> str:
    done = runner.run(
        ["git", *_GIT_SAFE, "-C", path, *args],
        readonly=True,
        timeout=GIT_TIMEOUT,
        env={"LC_ALL": "C", "GIT_OPTIONAL_LOCKS": "0"},
    )
    return done.stdout.strip()


def _no_repo(abspath: str) -> dict:
    return {
        "path": abspath,
        "name": os.path.basename(abspath),
        "commit": None,
        "branch": None,
        "dirty": None,
        "untracked": None,
    }


def _repo(path: str | os.PathLike) -> tuple[dict, str | None]:
    try:
        abspath = os.path.abspath(os.fspath(path))
    except TypeError as exc:
        return _no_repo(os.path.abspath(str(path))), f"dev_repos[{path!r}]: {exc}"
    entry = _no_repo(abspath)
    if not os.path.exists(abspath):
        return entry, f"dev_repos[{abspath}]: path does not exist"
    try:
        entry["commit"] = _git(abspath, "rev-parse", "HEAD")
        branch = _git(abspath, "rev-parse", "--abbrev-ref", "HEAD")
        entry["branch"] = None if branch == "HEAD" else branch  # detached
        status = _git(abspath, "status", "--porcelain").splitlines()
        entry["dirty"] = bool(status)  # the seed's: any change, untracked files too
        entry["untracked"] = any(line.startswith("??") for line in status)
    except Exception as exc:
        return entry, f"dev_repos[{abspath}]: {type(exc).__name__}: {exc}"
    return entry, None


def _dev_repos(paths: list, errors: list[str]) -> list[dict]:
    if not paths:
        return []
    with ThreadPoolExecutor(max_workers=min(4, len(paths))) as pool:
        results = list(pool.map(_repo, paths))
    errors += [err for _, err in results if err]
    return [entry for entry, _ in results]


def _signer(claim: dict) -> str | None:
    """The active image's signer: the recorded fingerprint, else the signature's own key id."""
    return claim.get("signer") or claim.get("keyid")


def _primary(root: Path, images: list[dict], errors: list[str]) -> dict | None:
    """The reference's single active image: ``current.sif`` when present, else the one
    every command means by default (:func:`~..apptainer.store.implied.implied_image`); a
    directory holding several images with no one default has none (the reason in errors)."""
    if not images:
        return None
    current = next((i for i in images if Path(i["link"]).name == "current.sif"), None)
    if current is not None or len(images) == 1:
        return current or images[0]
    from scitex_container.apptainer.store.implied import implied_image

    try:
        chosen = implied_image("containers_dir", root).resolve()
    except Exception as exc:
        errors.append(f"container.active_version: {exc}")
        return None
    return next((i for i in images if Path(i["path"]).resolve() == chosen), None)


def _container(containers_dir, errors: list[str]) -> tuple[dict, list[dict]]:
    from scitex_container.apptainer import tool
    from scitex_container.host import snapshot_container as sc

    section = _empty_container()
    try:
        section["command"] = tool.detect_container_cmd()
        section["apptainer_version"] = tool.container_version(section["command"])
    except Exception as exc:
        errors.append(f"container.apptainer_version: {type(exc).__name__}: {exc}")
    try:
        if containers_dir is None:
            from scitex_container.apptainer.deffile.lookup import find_containers_dir

            containers_dir = find_containers_dir()
        root = Path(containers_dir).expanduser().resolve()
        if not root.is_dir():
            raise FileNotFoundError(f"not a directory: {root}")
        section["containers_dir"] = str(root)
    except Exception as exc:
        errors.append(f"container.containers_dir: {type(exc).__name__}: {exc}")
        return section, []
    images: list[dict] = []
    try:
        for image in sc.active_images(root):
            try:
                images.append(sc.describe_image(image))
            except Exception as exc:
                errors.append(f"container.images[{image['link']}]: {type(exc).__name__}: {exc}")
                images.append(
                    {
                        **image,
                        "sandbox": None,
                        "image_sha256": None,
                        "inputs_hash": None,
                        "lock_hash": None,
                    }
                )
    except Exception as exc:
        errors.append(f"container.images: {type(exc).__name__}: {exc}")
    section["images"] = images
    primary = _primary(root, images, errors)
    if primary is not None:
        section.update(
            active_version=primary["version"],
            image_path=primary["path"],
            image_sha256=primary["image_sha256"],
            inputs_hash=primary["inputs_hash"],
            lock_hash=primary["lock_hash"],
            image_signer=_signer(primary.get("signature") or {}),
        )
    locks: list[dict] = []
    try:
        locks = sc.lock_files(root, images)
    except Exception as exc:
        errors.append(f"lock_files: {type(exc).__name__}: {exc}")
    return section, locks


def env_snapshot(
    containers_dir: str | os.PathLike | None = None, dev_repos: list | None = None
) -> dict:
    """Capture a lightweight JSON-serializable environment snapshot.

    Gracefully degrades: never raises; fields that cannot be determined are
    None and the reason is listed under ``errors``.

    Args:
        containers_dir: The containers directory; found with
            ``find_containers_dir()`` when None.
        dev_repos: Paths of git repositories to record (commit, branch, dirty).

    Returns:
        A dict with the seed's keys (``schema_version`` "1.0", ``timestamp``,
        ``container``, ``host``, ``dev_repos``, ``lock_files``) plus our
        ``tool``, ``system``, ``lock_file_entries`` and ``errors`` (see
        ``snapshot.schema.json``).  ``container`` has the seed's ``version``, ``sif_path``,
        ``sif_sha256``, ``def_hash`` beside ours; ``host`` maps each
        package group to ``{"installed", "version", "binaries"}``;
        ``lock_files`` maps ``pip``/``dpkg``/``node`` to a sha256; a dev
        repo that cannot be read has an ``error``.
    """
    from scitex_container.host import snapshot_seed as seed

    errors: list[str] = []
    snapshot: dict = {
        "schema_version": SCHEMA_VERSION,
        "timestamp": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "tool": {"name": "scitex-container", "version": __version__},
        "container": _empty_container(),
        "host": {},
        "system": _empty_host(),
        "dev_repos": [],
        "lock_files": {},
        "lock_file_entries": [],
        "errors": errors,
    }
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            system_future = pool.submit(_system, errors)
            container, locks = _container(containers_dir, errors)
            repos = _dev_repos(list(dev_repos or []), errors)
            system = system_future.result()
        snapshot["host"] = seed.host_section(system.pop("packages"))
        snapshot["system"] = system
        snapshot["dev_repos"] = [seed.dev_repo(r, errors) for r in repos]
        snapshot["container"] = seed.container_section(container)
        snapshot["lock_files"] = seed.lock_map(container.get("containers_dir"), locks)
        snapshot["lock_file_entries"] = locks
    except Exception as exc:
        errors.append(f"snapshot: {type(exc).__name__}: {exc}")
    try:
        json.dumps(snapshot)
    except (TypeError, ValueError) as exc:
        errors.append(f"snapshot: not JSON-serializable: {exc}")
        snapshot = json.loads(json.dumps(snapshot, default=str))
    return snapshot
