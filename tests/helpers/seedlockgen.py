"""The seed's lock behaviour, restated from its documented ``_lockgen`` module.

An oracle for differential tests: what a seed user has on disk and what the
seed's functions answer.  Written from the seed's documented behaviour
(``scitex_container.apptainer._lockgen`` of scitex-ai/scitex-container):

* capture: ``pip freeze`` (``pip``, else ``pip3``: the first with output),
  ``dpkg-query -W -f=${Package}=${Version}\\n`` and
  ``npm list -g --depth=0 --json``, each in ``apptainer exec --cleanenv
  --no-home IMAGE``; a failing command counts as no output;
* freeze parsing: blank and ``#`` lines skipped; a line with ``==`` is split
  at the first ``==`` into a lower-cased name and the version, both
  stripped; any other line is its own key with the version ``""``;
  dpkg lines without ``=`` are skipped, others split at the first ``=``;
* the file: ``# scitex-container lock``, ``[pip]`` with ``name==ver`` (the
  bare key when the version is empty) in sorted key order, ``[dpkg]`` with
  ``name=ver`` sorted, ``[node]`` and the npm text stripped;
* reading: comment lines skipped everywhere, ``[pip]``/``[dpkg]``/``[node]``
  switch sections, pip and dpkg lines parsed as above (blank lines
  skipped), node lines kept and the text stripped;
* ``version_set``: ``pip:<key>``, ``dpkg:<key>`` and ``node:<name>`` for
  every ``dependencies`` entry of the npm JSON that has a ``version``;
* ``compare_locks``: changed / only in a / only in b by exact key and text;
* ``LockDiff.summary``: ``version sets identical``, else ``N changed
  (k: a -> b, ...)`` with at most ten sorted samples, ``N only in rough``,
  ``N only in rebuild``, joined with ``; ``.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

HEADER = "# scitex-container lock"


@dataclass
class SeedLock:
    pip: dict[str, str] = field(default_factory=dict)
    dpkg: dict[str, str] = field(default_factory=dict)
    node: str = ""


def freeze_map(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        if "==" in entry:
            name, _, version = entry.partition("==")
            out[name.strip().lower()] = version.strip()
        else:
            out[entry] = ""
    return out


def dpkg_map(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        entry = line.strip()
        if entry and "=" in entry:
            name, _, version = entry.partition("=")
            out[name.strip()] = version.strip()
    return out


def node_versions(text: str) -> dict[str, str]:
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    deps = data.get("dependencies", {}) if isinstance(data, dict) else {}
    return {
        name: str(info["version"])
        for name, info in deps.items()
        if isinstance(info, dict) and "version" in info
    }


def render(lock: SeedLock) -> str:
    rows = [HEADER, "[pip]"]
    rows += [f"{key}=={lock.pip[key]}" if lock.pip[key] else key for key in sorted(lock.pip)]
    rows.append("[dpkg]")
    rows += [f"{key}={lock.dpkg[key]}" for key in sorted(lock.dpkg)]
    rows += ["[node]", lock.node.strip()]
    return "\n".join(rows) + "\n"


def write(lock: SeedLock, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(lock))
    return path


def parse(text: str) -> SeedLock:
    lock = SeedLock()
    section = None
    node_rows: list[str] = []
    for row in text.splitlines():
        entry = row.strip()
        if entry.startswith("#"):
            continue
        if entry in ("[pip]", "[dpkg]", "[node]"):
            section = entry[1:-1]
        elif section == "pip":
            lock.pip.update(freeze_map(entry))
        elif section == "dpkg":
            lock.dpkg.update(dpkg_map(entry))
        elif section == "node":
            node_rows.append(row)
    lock.node = "\n".join(node_rows).strip()
    return lock


def read(path: Path) -> SeedLock:
    return parse(path.read_text())


def version_set(lock: SeedLock) -> dict[str, str]:
    out = {f"pip:{k}": v for k, v in lock.pip.items()}
    out.update((f"dpkg:{k}", v) for k, v in lock.dpkg.items())
    out.update((f"node:{k}", v) for k, v in node_versions(lock.node).items())
    return out


def compare(a: SeedLock, b: SeedLock) -> tuple[dict, dict, dict]:
    """``(changed, only_in_a, only_in_b)`` by exact key and version text."""
    set_a, set_b = version_set(a), version_set(b)
    changed = {k: (set_a[k], set_b[k]) for k in set_a.keys() & set_b.keys() if set_a[k] != set_b[k]}
    only_a = {k: set_a[k] for k in set_a.keys() - set_b.keys()}
    only_b = {k: set_b[k] for k in set_b.keys() - set_a.keys()}
    return changed, only_a, only_b


def summary(changed: dict, only_a: dict, only_b: dict) -> str:
    if not (changed or only_a or only_b):
        return "version sets identical"
    parts = []
    if changed:
        sample = ", ".join(f"{k}: {a} -> {b}" for k, (a, b) in sorted(changed.items())[:10])
        parts.append(f"{len(changed)} changed ({sample})")
    if only_a:
        parts.append(f"{len(only_a)} only in rough")
    if only_b:
        parts.append(f"{len(only_b)} only in rebuild")
    return "; ".join(parts)


def _exec(image: Path, argv: list[str]) -> str:
    done = subprocess.run(
        ["apptainer", "exec", "--cleanenv", "--no-home", str(image), *argv],
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.stdout if done.returncode == 0 else ""


def capture(image: Path) -> SeedLock:
    """What the seed's ``capture_lock`` records for ``image``."""
    lock = SeedLock()
    for pip in ("pip", "pip3"):
        out = _exec(image, [pip, "freeze"])
        if out.strip():
            lock.pip = freeze_map(out)
            break
    lock.dpkg = dpkg_map(_exec(image, ["dpkg-query", "-W", "-f=${Package}=${Version}\n"]))
    lock.node = _exec(image, ["npm", "list", "-g", "--depth=0", "--json"])
    return lock
