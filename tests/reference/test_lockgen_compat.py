"""The seed's lock API: module path, a mutable Lock, and its files read back.

``seed_write`` and ``seed_read`` restate the seed's ``write_lock`` /
``read_lock`` file logic (sorted sections, ``name==ver`` or the bare key,
``name=ver``, the node text stripped; comments skipped everywhere) so the
test can produce exactly the bytes a seed user has on disk.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

SEED_NAMES = (
    "Lock",
    "LockDiff",
    "capture_lock",
    "compare_locks",
    "generate_locked_def",
    "read_lock",
    "write_lock",
)


def seed_write(pip: dict, dpkg: dict, node: str, path: Path) -> Path:
    lines = ["# scitex-container lock", "[pip]"]
    lines += [f"{n}=={pip[n]}" if pip[n] else n for n in sorted(pip)]
    lines.append("[dpkg]")
    lines += [f"{n}={dpkg[n]}" for n in sorted(dpkg)]
    lines += ["[node]", node.strip()]
    path.write_text("\n".join(lines) + "\n")
    return path


def seed_read(path: Path) -> tuple[dict, dict, str]:
    pip: dict[str, str] = {}
    dpkg: dict[str, str] = {}
    node: list[str] = []
    section = None
    for raw in path.read_text().splitlines():
        s = raw.strip()
        if s.startswith("#"):
            continue
        if s in ("[pip]", "[dpkg]", "[node]"):
            section = s[1:-1]
        elif section == "pip" and s:
            name, _, ver = s.partition("==") if "==" in s else (s, "", "")
            pip[name.strip().lower()] = ver.strip()
        elif section == "dpkg" and "=" in s:
            name, _, ver = s.partition("=")
            dpkg[name.strip()] = ver.strip()
        elif section == "node":
            node.append(raw)
    return pip, dpkg, "\n".join(node).strip()


NPM = json.dumps({"name": "lib", "dependencies": {"left-pad": {"version": "1.3.0"}}})
SEED_LOCKS = [
    # (pip, dpkg, node, expected node versions)
    (
        {"numpy": "2.1.0", "typing_extensions": "4.12.2", "zope.interface": "7.0"},
        {"libc6": "2.36-9+deb12u13", "libfoo": ""},
        NPM,
        {"left-pad": "1.3.0"},
    ),
    (
        {"./localdir": "", "-e git+https://x/y.git@abc#egg=y": "", "bare": ""},
        {"base-files": "12.4+deb12u14"},
        "",
        {},
    ),
    ({"mypkg @ file:///opt/w/mypkg-1.0-py3-none-any.whl": ""}, {}, "[]", {}),
    ({}, {"a": ""}, "null", {}),
    ({"six": "1.16.0"}, {}, "npm WARN config global `--global` is deprecated", {}),
]


def test_the_seed_module_path_exports_the_seed_names():
    from scitex_container.apptainer import _lockgen

    for name in SEED_NAMES:
        assert callable(getattr(_lockgen, name)), name
    from scitex_container.apptainer.lock.capture import capture_lock

    assert _lockgen.capture_lock is capture_lock
    from scitex_container.apptainer.lock.lockfile import read_lock

    # the seed path reads with the one reader: its malformed-file cases
    # (file:line errors) are in test_lockfile.py
    assert _lockgen.read_lock is read_lock


@pytest.mark.parametrize(("pip", "dpkg", "node", "node_expected"), SEED_LOCKS)
def test_every_file_the_seed_writes_reads_back(tmp_path, pip, dpkg, node, node_expected):
    from scitex_container.apptainer._lockgen import read_lock, write_lock

    path = seed_write(pip, dpkg, node, tmp_path / "seed.lock")
    lock = read_lock(path)
    seed_pip, seed_dpkg, _ = seed_read(path)
    for raw_name, version in seed_pip.items():  # the seed's own lookups
        assert lock.pip[raw_name] == version
        assert raw_name in lock.pip
    assert len(lock.pip) == len(seed_pip)
    assert dict(lock.dpkg) == seed_dpkg
    assert lock.node_versions == node_expected
    # Ours writes it back; reading that again gives the same versions.
    again = read_lock(write_lock(lock, tmp_path / "ours.lock"))
    assert again.version_set() == lock.version_set()
    # ...and the seed's reader reads our file as the same dpkg versions.
    assert seed_read(tmp_path / "ours.lock")[1] == seed_dpkg


def test_raw_name_lookup_with_normalized_comparison():
    from scitex_container.apptainer._lockgen import Lock, compare_locks

    a = Lock(pip={"typing_extensions": "4.12.2"})
    b = Lock(pip={"Typing-Extensions": "4.12.2"})
    assert a.pip["typing_extensions"] == "4.12.2"
    assert a.pip.get("TYPING_EXTENSIONS") == "4.12.2"
    assert compare_locks(a, b).identical
    # keys as written; any spelling finds them
    assert list(a.version_set()) == ["pip:typing_extensions"]
    assert b.version_set()["pip:typing_extensions"] == "4.12.2"


def test_lock_is_mutable_and_every_comparison_reads_current_contents():
    from scitex_container.apptainer._lockgen import Lock, compare_locks

    a = Lock(pip={"numpy": "2.1.0"}, dpkg={"libc6": "2.36"})
    b = Lock(pip={"numpy": "2.1.0"}, dpkg={"libc6": "2.36"})
    assert compare_locks(a, b).identical
    b.pip["numpy"] = "2.2.0"  # in place, after a comparison ran
    diff = compare_locks(a, b)
    assert not diff.identical
    assert diff.changed == {"pip:numpy": ("2.1.0", "2.2.0")}
    b.pip = {"numpy": "2.1.0"}  # reassigned, as the seed's capture does
    assert compare_locks(a, b).identical
    b.dpkg["libc6"] = "2.37"
    b.node = NPM
    diff = compare_locks(a, b)
    assert diff.changed == {"dpkg:libc6": ("2.36", "2.37")}
    assert diff.only_in_b == {"node:left-pad": "1.3.0"}


def test_artifact_hashes_round_trip_and_the_seed_reader_ignores_them(tmp_path):
    from scitex_container.apptainer._lockgen import Lock, compare_locks, read_lock, write_lock

    digest = "ab" * 32
    lock = Lock(pip={"six": "1.16.0"}, dpkg={"hello": "2.10-3"}, node=NPM)
    lock.artifacts = {"dpkg:hello": digest}
    path = write_lock(lock, tmp_path / "a.lock")
    back = read_lock(path)
    assert back.artifacts == {"dpkg:hello": digest}
    assert compare_locks(back, Lock(pip={"six": "1.16.0"}, dpkg={"hello": "2.10-3"}, node=NPM))
    assert compare_locks(back, lock).identical
    pip, dpkg, node = seed_read(path)
    assert (pip, dpkg, json.loads(node)["dependencies"]) == (
        {"six": "1.16.0"},
        {"hello": "2.10-3"},
        {"left-pad": {"version": "1.3.0"}},
    )


def test_provided_by_round_trips_and_the_seed_reader_ignores_it(tmp_path):
    from scitex_container.apptainer._lockgen import Lock, read_lock, write_lock

    lock = Lock(pip={"numpy": "1.24.2", "six": "1.16.0"}, dpkg={"python3-numpy": "1:1.24.2-1"})
    lock.provided_by = {"pip:numpy": "dpkg:python3-numpy"}
    path = write_lock(lock, tmp_path / "p.lock")
    assert "# provided-by: pip:numpy dpkg:python3-numpy\n" in path.read_text()
    assert read_lock(path).provided_by == {"pip:numpy": "dpkg:python3-numpy"}
    pip, dpkg, _ = seed_read(path)
    assert pip == {"numpy": "1.24.2", "six": "1.16.0"} and dpkg == {"python3-numpy": "1:1.24.2-1"}
