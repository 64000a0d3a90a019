"""Fetching the artifacts a lock names, each checked against its source.

* .deb: ``apt-get download --print-uris NAME=VER...`` gives, from the apt
  index, the URL, file name and SHA256 of every version a source still has
  (and names the rest on stderr); ``apt-get download`` fetches them and each
  file is checked against that SHA256 here.
* wheels: ``pip download --no-deps --only-binary=:all:`` for the image's
  Python and platform; pip checks each file against the ``#sha256=`` the
  index publishes.  ``name @ file:///...whl`` entries are copied from the
  image (or the host path).
* npm: ``npm pack NAME@VER``; npm checks the tarball against the registry's
  integrity field.

Every fetcher returns ``(found, missing)``: ``{lock key: Fetched}`` and
``{lock key: where it was looked for}``.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from packaging.utils import canonicalize_name, parse_wheel_filename

from scitex_container.errors import DiskFullError
from scitex_container.files.fsutil import sha256_file
from scitex_container.process import runner

_URI_RE = re.compile(r"^'([^']+)'\s+(\S+)\s+(\d+)\s+SHA256:([0-9a-f]{64})$")
_NOT_FOUND_RE = re.compile(
    r"(?:Version '([^']+)' for '([^']+)' was not found|"
    r"Unable to locate package (\S+))"
)


@dataclass(frozen=True)
class Fetched:
    path: Path
    source: str
    sha256: str


Outcome = tuple[dict[str, Fetched], dict[str, str]]


def _deb_spec(name: str, version: str) -> str:
    return f"{name}={version}"


def _apt_cache_options(workdir: Path) -> list[str]:
    """apt options that let our two apt calls share one package cache.

    Container-style hosts turn apt's cache off (``Dir::Cache::pkgcache ""``),
    so every apt call parses all the package lists again (about a second);
    then the first call writes a cache in ``workdir`` and the second reads it.
    """
    done = runner.run(
        ["apt-config", "shell", "C", "Dir::Cache::pkgcache/f"], check=False, readonly=True
    )
    if not done.ok or done.stdout.strip() not in ("", "C=''"):
        return []
    return ["-o", f"Dir::Cache::pkgcache={workdir / 'apt-pkgcache.bin'}"]


def fetch_debs(wanted: Mapping[str, str], workdir: Path) -> Outcome:
    """``wanted``: dpkg name (``name:arch`` for a foreign one) -> version."""
    found: dict[str, Fetched] = {}
    missing: dict[str, str] = {}
    specs = {}
    for name, version in sorted(wanted.items()):
        if version:
            specs[_deb_spec(name, version)] = name
        else:
            missing[f"dpkg:{name}"] = "the lock names no version"
    if not specs:
        return found, missing
    where = "this host's apt sources (apt-get download --print-uris)"
    workdir.mkdir(parents=True, exist_ok=True)
    apt = ["apt-get", "download", *_apt_cache_options(workdir)]
    done = runner.run([*apt, "--print-uris", *specs], check=False, readonly=True)
    uris: dict[str, tuple[str, str, str]] = {}  # spec -> (url, filename, sha256)
    by_file: dict[str, tuple[str, str]] = {}
    for line in done.stdout.splitlines():
        if m := _URI_RE.match(line.strip()):
            by_file[m.group(2)] = (m.group(1), m.group(4))
    for spec, name in specs.items():
        base, _, arch = name.partition(":")
        version = spec.split("=", 1)[1]
        # apt names the file name_VERSION_arch.deb, the epoch's ':' quoted (1%3a2.38)
        prefixes = (f"{base}_{version}_", f"{base}_{version.split(':', 1)[-1]}_")
        for filename, (url, digest) in by_file.items():
            plain = unquote(filename)
            if plain.startswith(prefixes) and (not arch or plain.endswith(f"_{arch}.deb")):
                uris[spec] = (url, filename, digest)
                break
        else:
            missing[f"dpkg:{name}"] = f"{where}: version {version} not found"
    if not uris:
        return found, missing
    debdir = workdir / "deb"
    debdir.mkdir(parents=True, exist_ok=True)
    runner.run([*apt, *uris], cwd=debdir, check=False)
    for spec, (url, filename, digest) in uris.items():
        name = specs[spec]
        path = debdir / filename
        if not path.is_file():
            missing[f"dpkg:{name}"] = f"{url}: apt-get download failed"
        elif sha256_file(path) != digest:
            missing[f"dpkg:{name}"] = f"{url}: sha256 differs from the apt index"
        else:
            found[f"dpkg:{name}"] = Fetched(path, url, digest)
    return found, missing


def _pip_argv(python_version: str, platforms: Sequence[str], dest: Path) -> list[str]:
    argv = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
    argv += ["--disable-pip-version-check", "-q", "-d", os.fspath(dest)]
    if python_version:
        argv += ["--python-version", python_version]
    for platform in platforms:
        argv += ["--platform", platform]
    return argv


def _wheels_in(directory: Path) -> dict[tuple[str, str], Path]:
    out: dict[tuple[str, str], Path] = {}
    for path in directory.glob("*.whl"):
        name, version, _, _ = parse_wheel_filename(path.name)
        out[(canonicalize_name(name), str(version))] = path
    return out


def fetch_wheels(
    wanted: Mapping[str, str],
    workdir: Path,
    *,
    python_version: str = "",
    platforms: Sequence[str] = (),
    local_files: Mapping[str, Path] | None = None,
) -> Outcome:
    """``wanted``: pip key -> version; ``local_files``: image path -> host copy."""
    found: dict[str, Fetched] = {}
    missing: dict[str, str] = {}
    pinned = {}
    for key, version in sorted(wanted.items()):
        if version:
            pinned[key] = version
            continue
        url = key.split(" @ ", 1)[1].strip() if " @ " in key else ""
        path = unquote(urlparse(url).path) if url.startswith("file:") else ""
        copy = (local_files or {}).get(path) if path else None
        if copy is None and path and Path(path).is_file():
            copy = Path(path)
        if path.endswith(".whl") and copy is not None and copy.is_file():
            found[f"pip:{key}"] = Fetched(copy, url, sha256_file(copy))
        else:
            missing[f"pip:{key}"] = (
                f"{path} (in the image and on this host)"
                if path.endswith(".whl")
                else "not a wheel: an editable, VCS or directory install cannot be archived"
            )
    dest = workdir / "pip"
    dest.mkdir(parents=True, exist_ok=True)
    plat = f"{platforms[0]} and {len(platforms) - 1} older" if platforms else "host"
    where = f"pip download (python {python_version or 'host'}, platform {plat})"
    env = {"PIP_CONSTRAINT": "", "PIP_REQUIRE_VIRTUALENV": "0"}
    base = _pip_argv(python_version, platforms, dest)
    reqs = [f"{k}=={v}" for k, v in pinned.items()]
    said = ""
    if reqs:
        done = runner.run([*base, *reqs], check=False, env=env)
        said = done.stderr + done.stdout
        if not done.ok:
            for req in reqs:  # one of them is missing: find which
                said += runner.run([*base, req], check=False, env=env).stderr
    have = _wheels_in(dest)
    for key, version in pinned.items():
        wheel = have.get((canonicalize_name(key), version))
        if wheel is not None and not _whole_zip(wheel):  # cut short (a full disk): never stored
            wheel.unlink(missing_ok=True)
            if "No space left on device" in said or "Errno 28" in said:
                raise DiskFullError(
                    f"{workdir.parent}: no space left on device (pip download of "
                    f"{key}=={version} was cut short; nothing of it was stored)"
                )
            missing[f"pip:{key}"] = f"{where}: {key}=={version} arrived incomplete"
        elif wheel is None:
            missing[f"pip:{key}"] = f"{where}: {key}=={version} not found"
        else:
            found[f"pip:{key}"] = Fetched(wheel, f"pip download {key}=={version}", "")
    return found, missing


def _whole_zip(path: Path) -> bool:
    """Is ``path`` a complete zip (a wheel cut short lacks its central directory)?"""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            return archive.testzip() is None
    except (OSError, zipfile.BadZipFile, EOFError):
        return False


def _npm_pack(specs: Sequence[str], dest: Path) -> dict[str, tuple[Path, str]]:
    """``{spec: (tarball, integrity)}`` of one ``npm pack SPEC...`` (nothing if it failed)."""
    done = runner.run(
        ["npm", "pack", *specs, "--json", "--pack-destination", os.fspath(dest)],
        check=False,
        cwd=dest,
    )
    try:
        infos = json.loads(done.stdout) if done.ok else []
    except ValueError:
        infos = []
    out: dict[str, tuple[Path, str]] = {}
    for info in infos if isinstance(infos, list) else []:
        if not isinstance(info, dict):
            continue
        spec = f"{info.get('name')}@{info.get('version')}"
        path = dest / str(info.get("filename", ""))
        if spec in specs and path.is_file():
            out[spec] = (path, str(info.get("integrity")))
    return out


def fetch_npm(wanted: Mapping[str, str], workdir: Path) -> Outcome:
    """``wanted``: npm package name -> version: one ``npm pack`` for all of them
    (npm checks each tarball against the registry's integrity field); when one
    is missing npm fails them all, and each is then packed alone to tell which."""
    found: dict[str, Fetched] = {}
    missing: dict[str, str] = {}
    dest = workdir / "npm"
    dest.mkdir(parents=True, exist_ok=True)
    specs = [f"{name}@{version}" for name, version in sorted(wanted.items())]
    packed = _npm_pack(specs, dest) if specs else {}
    if len(packed) < len(specs):
        for spec in specs:
            if spec not in packed:
                packed |= _npm_pack([spec], dest)
    for name, version in sorted(wanted.items()):
        spec = f"{name}@{version}"
        if spec in packed:
            path, integrity = packed[spec]
            found[f"node:{name}"] = Fetched(path, f"npm pack {spec} ({integrity})", "")
        else:
            missing[f"node:{name}"] = f"the npm registry (npm pack {spec})"
    return found, missing


def fetch_saved(wanted: Mapping[str, str], dirs: Sequence[str | os.PathLike]) -> Outcome:
    """Take ``{lock key: version}`` from saved files when no source has them.

    A ``.deb`` counts when its control fields (``dpkg-deb -f``: Package,
    Version, Architecture) name the lock entry; a wheel when its file name
    does; an npm tarball (what ``npm pack`` makes) when its
    ``package/package.json`` names it.  No index vouches for these (the
    version vanished upstream, or never was in one), so the source recorded
    says which file it was and what was checked.
    """
    found: dict[str, Fetched] = {}
    tarballs: dict[tuple[str, str], Path] = {}
    debs: dict[tuple[str, str], list[tuple[Path, str]]] = {}
    wheels: dict[tuple[str, str], Path] = {}
    for directory in dirs:
        for path in sorted(Path(directory).glob("*.deb")):
            done = runner.run(
                ["dpkg-deb", "-f", path, "Package", "Version", "Architecture"],
                check=False,
                readonly=True,
            )
            fields = dict(line.split(": ", 1) for line in done.stdout.splitlines() if ": " in line)
            if done.ok and fields.get("Package") and fields.get("Version"):
                deb_key = (fields["Package"], fields["Version"])
                debs.setdefault(deb_key, []).append((path, fields.get("Architecture", "")))
        for key_, path in _wheels_in(Path(directory)).items():
            wheels.setdefault(key_, path)
        for path in sorted(Path(directory).glob("*.tgz")):
            named = _npm_tarball_names(path)
            if named is not None:
                tarballs.setdefault(named, path)
    for key, version in sorted(wanted.items()):
        manager, _, name = key.partition(":")
        if manager == "dpkg":
            base, _, arch = name.partition(":")
            for path, deb_arch in debs.get((base, version), []):
                if not arch or deb_arch == arch:
                    source = f"saved file {path} (control fields match; in no index)"
                    found[key] = Fetched(path, source, sha256_file(path))
                    break
        elif manager == "pip" and version:
            wheel = wheels.get((canonicalize_name(name), version))
            if wheel is not None:
                found[key] = Fetched(wheel, f"saved file {wheel} (in no index)", sha256_file(wheel))
        elif manager == "node" and (tgz := tarballs.get((name, version))) is not None:
            source = f"saved file {tgz} (package.json matches; in no registry)"
            found[key] = Fetched(tgz, source, sha256_file(tgz))
    return found, {}


def _npm_tarball_names(path: Path) -> tuple[str, str] | None:
    """``(name, version)`` from the ``package/package.json`` of an npm tarball."""
    import json
    import tarfile

    try:
        with tarfile.open(path, "r:gz") as tar:
            member = tar.extractfile("package/package.json")
            manifest = json.loads(member.read(1 << 20)) if member is not None else None
    except (OSError, KeyError, ValueError, tarfile.TarError):
        return None
    if not isinstance(manifest, dict):
        return None
    name, version = manifest.get("name"), manifest.get("version")
    return (name, version) if isinstance(name, str) and isinstance(version, str) else None
