"""Parsing package databases and pip metadata into versions (no I/O).

The pure text side of a capture, shared by the static capture
(:mod:`.capture_static`, reading files from the image) and the exec capture
(:mod:`.capture_exec`, reading what the tools print): dpkg's status file,
apk's database, pip freeze lines and ``METADATA`` headers.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import unquote, urlsplit, urlunsplit

from scitex_container.apptainer.lock.lockfile import normalize_pip_version, pip_entry
from scitex_container.apptainer.lock.syntax import canonical_pip_entry

DPKG_INSTALLED = frozenset({"installed", "triggers-awaited", "triggers-pending"})
#: The state of a removed package whose config files remain (``rc`` in ``dpkg -l``).
DPKG_CONFIG_FILES = frozenset({"config-files"})


def parse_control(text: str) -> list[dict[str, str]]:
    """Stanzas of a Debian control-style file (dpkg status)."""
    records: list[dict[str, str]] = []
    current: dict[str, str] = {}
    key = None
    for line in text.splitlines():
        if not line.strip():
            if current:
                records.append(current)
            current, key = {}, None
        elif line[0] in " \t":
            if key:
                current[key] += "\n" + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            key = key.strip()
            current[key] = value.strip()
    if current:
        records.append(current)
    return records


def dpkg_versions(records: Iterable[dict[str, str]], native: str | None = None) -> dict[str, str]:
    """``{name: version}`` of installed packages; foreign architectures qualified."""
    return _dpkg_by_status(records, native, DPKG_INSTALLED)


def dpkg_config_files(
    records: Iterable[dict[str, str]], native: str | None = None
) -> dict[str, str]:
    """``{name: version}`` of removed packages whose config files remain (state ``rc``).

    Not installed, so never pinned nor compared as installed; recorded
    because ``dpkg-query -W`` (the seed's capture) lists them.
    """
    return _dpkg_by_status(records, native, DPKG_CONFIG_FILES)


def _dpkg_by_status(
    records: Iterable[dict[str, str]], native: str | None, wanted: frozenset[str]
) -> dict[str, str]:
    records = list(records)
    if native is None:
        native = next(
            (r.get("Architecture", "") for r in records if r.get("Package") == "dpkg"), ""
        )
    out: dict[str, str] = {}
    for rec in records:
        status = rec.get("Status", "").split()
        if len(status) != 3 or status[2] not in wanted or not rec.get("Version"):
            continue
        name, arch = rec.get("Package", ""), rec.get("Architecture", "")
        if not name:
            continue
        if arch and arch != "all" and native and arch != native:
            name = f"{name}:{arch}"
        out[name] = rec["Version"]
    return dict(sorted(out.items()))


def apk_versions(text: str) -> dict[str, str]:
    """``{name: version}`` from an apk ``installed`` database."""
    out: dict[str, str] = {}
    name = None
    for line in [*text.splitlines(), ""]:
        if line.startswith("P:"):
            name = line[2:].strip()
        elif line.startswith("V:") and name:
            out[name] = line[2:].strip()
        elif not line.strip():
            name = None
    return dict(sorted(out.items()))


def freeze_lines_to_map(lines: Iterable[str], into: dict[str, str] | None = None) -> dict[str, str]:
    """Add ``pip freeze`` lines to a map (first occurrence of a name wins)."""
    out = {} if into is None else into
    names = {_pip_key_name(k) for k in out}
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            key, version = canonical_pip_entry(*pip_entry(line))
        except ValueError:
            continue
        name = _pip_key_name(key)
        if name in names:
            continue
        names.add(name)
        out[key] = version
    return out


def _pip_key_name(key: str) -> str:
    return key.split(" @ ")[0].split("[")[0] if " @ " in key else key


# --- Python metadata ----------------------------------------------------------


def _headers(data: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in data.decode("utf-8", "replace").splitlines():
        if not line.strip():
            break
        if line[0] not in " \t" and ":" in line:
            key, _, value = line.partition(":")
            out.setdefault(key.strip().lower(), value.strip())
    return out


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None or parts.password.startswith("${"):
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=f"{parts.username}:****@{host}"))


def freeze_line(name: str, version: str, direct_url: dict | None) -> str:
    """The line ``pip freeze`` prints for a distribution (pip 23 rules)."""
    if not direct_url:
        return f"{name}=={normalize_pip_version(version)}"
    url = _redacted(str(direct_url.get("url", "")))
    dir_info = direct_url.get("dir_info")
    if isinstance(dir_info, dict) and dir_info.get("editable"):
        return "-e " + unquote(urlsplit(url).path) if url.startswith("file:") else "-e " + url
    fragments = []
    vcs = direct_url.get("vcs_info")
    if isinstance(vcs, dict):
        req = f"{name} @ {vcs.get('vcs')}+{url}@{vcs.get('commit_id')}"
    else:
        req = f"{name} @ {url}"
        archive = direct_url.get("archive_info")
        if isinstance(archive, dict) and archive.get("hash"):
            fragments.append(str(archive["hash"]))
    if direct_url.get("subdirectory"):
        fragments.append(f"subdirectory={direct_url['subdirectory']}")
    return req + ("#" + "&".join(fragments) if fragments else "")
