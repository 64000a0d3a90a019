"""The capture rules shared by static and exec capture, and compare_locks."""

from __future__ import annotations

import json
import os

import pytest

from scitex_container.apptainer.lock.capture_exec import host_env_to_remove, parse_exec_output
from scitex_container.apptainer.lock.capture_static import static_capture
from scitex_container.apptainer.lock.compare import compare_locks
from scitex_container.apptainer.lock.lockfile import Lock
from scitex_container.apptainer.lock.pkgdb import (
    apk_versions,
    dpkg_versions,
    freeze_line,
    parse_control,
)
from scitex_container.apptainer.sif.tree import TreeUnreadable

STATUS = """\
Package: dpkg
Status: install ok installed
Architecture: amd64
Version: 1.21.22

Package: libc6
Status: install ok installed
Architecture: amd64
Multi-Arch: same
Version: 2.36-9
Description: GNU C Library
 continuation line

Package: libc6
Status: install ok installed
Architecture: i386
Multi-Arch: same
Version: 2.36-9

Package: removed-pkg
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0

Package: tzdata
Status: hold ok installed
Architecture: all
Version: 2024a
"""


def test_dpkg_rules():
    assert dpkg_versions(parse_control(STATUS)) == {
        "dpkg": "1.21.22",
        "libc6": "2.36-9",
        "libc6:i386": "2.36-9",
        "tzdata": "2024a",
    }


def test_exec_output_goes_through_the_same_rules():
    dpkg_lines = "\n".join(
        "\t".join([r["Package"], r["Architecture"], r["Version"], r["Status"]])
        for r in parse_control(STATUS)
    )
    out = (
        "@@scitex:dpkg\n" + dpkg_lines + "\n@@scitex:dpkg-arch\namd64\n"
        "@@scitex:pip /usr/bin/python3.11\nPyYAML==6.0\n"
        "# Editable install with no version control (x==1)\n"
        "-e /opt/x\nfoo_bar @ file:///w/foo_bar-1.0-py3-none-any.whl\n"
        "@@scitex:pip /opt/venv/bin/python3\npyyaml==5.0\nextra==1.0\n"
        "@@scitex:npm\n"
        + json.dumps({"name": "lib", "dependencies": {"a": {"version": "1.0.0"}}})
        + "\n@@scitex:end\n"
    )
    found = parse_exec_output(out)
    assert found.dpkg == dpkg_versions(parse_control(STATUS))
    # no pip on the runtime PATH: [pip] is the system's; the venv is kept whole, not merged
    assert found.pip_environment == "/usr"
    assert found.pip == {
        "-e /opt/x": "",
        "foo-bar @ file:///w/foo_bar-1.0-py3-none-any.whl": "",
        "pyyaml": "6.0",
    }
    assert found.pip_envs == {"/opt/venv": {"extra": "1.0", "pyyaml": "5.0"}}
    assert found.node == {"a": "1.0.0"}


@pytest.mark.parametrize(
    ("direct_url", "line"),
    [
        (None, "Foo==1.0.post1"),
        ({"url": "file:///w/foo-1.0.whl", "archive_info": {}}, "Foo @ file:///w/foo-1.0.whl"),
        (
            {"url": "https://h/foo.tgz", "archive_info": {"hash": "sha256=ab"}},
            "Foo @ https://h/foo.tgz#sha256=ab",
        ),
        (
            {
                "url": "https://u:secret@h/r.git",
                "vcs_info": {"vcs": "git", "commit_id": "c0ffee"},
                "subdirectory": "py",
            },
            "Foo @ git+https://u:****@h/r.git@c0ffee#subdirectory=py",
        ),
        (
            {"url": "file:///opt/src/foo%20bar", "dir_info": {"editable": True}},
            "-e /opt/src/foo bar",
        ),
        ({"url": "file:///opt/src/foo", "dir_info": {}}, "Foo @ file:///opt/src/foo"),
    ],
)
def test_freeze_line_follows_pip(direct_url, line):
    assert freeze_line("Foo", "1.0-1" if direct_url is None else "1.0", direct_url) == line


def test_apk_database():
    db = "C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\n\nP:busybox\nV:1.36.1-r5\n"
    assert apk_versions(db) == {"busybox": "1.36.1-r5", "musl": "1.2.4-r2"}


def _dist(site, name, version, direct=None):
    d = site / f"{name}-{version}.dist-info"
    d.mkdir(parents=True)
    (d / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nbody\n"
    )
    if direct:
        (d / "direct_url.json").write_text(json.dumps(direct))


def _linked_rootfs(tmp_path):
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    local = root / "usr/local/lib/python3.11/dist-packages"
    system = root / "usr/lib/python3/dist-packages"
    _dist(local, "shadowed", "2.0")
    _dist(system, "shadowed", "1.0")  # lower priority: pip would see the local one first
    egg = system / "PyYAML-6.0.egg-info"
    egg.write_text("Metadata-Version: 1.1\nName: PyYAML\nVersion: 6.0\n")  # egg-info as a file
    # a site dir reached through an absolute in-image symlink (not the host's /opt)
    _dist(root / "srv/venv-site", "linked", "3.0")
    (root / "opt/venv/lib/python3.11").mkdir(parents=True)
    os.symlink("/srv/venv-site", root / "opt/venv/lib/python3.11/site-packages")
    # npm: prefix /usr/local (from node's location), one package a symlink to a dir in the image
    (root / "usr/local/bin").mkdir(parents=True)
    (root / "usr/local/bin/node").write_text("")
    os.symlink("../lib/node_modules/npm/bin/npm-cli.js", root / "usr/local/bin/npm")
    mods = root / "usr/local/lib/node_modules"
    (mods / "@s/b").mkdir(parents=True)
    (mods / "@s/b/package.json").write_text('{"name": "@s/b", "version": "0.2.0"}')
    (root / "srv/tool").mkdir()
    (root / "srv/tool/package.json").write_text('{"name": "tool", "version": "9.9.9"}')
    os.symlink("/srv/tool", mods / "tool")
    (mods / ".bin").mkdir()
    (root / "var/lib/dpkg").mkdir(parents=True)
    (root / "var/lib/dpkg/status").write_text(STATUS)
    return root


EXPECTED_PIP = {"pyyaml": "6.0", "shadowed": "2.0"}
EXPECTED_ENVS = {"/opt/venv": {"linked": "3.0"}}
EXPECTED_NODE = {"@s/b": "0.2.0", "tool": "9.9.9"}


def test_static_reads_a_sandbox_and_resolves_links_inside_it(tmp_path):
    found = static_capture(_linked_rootfs(tmp_path))
    assert found.pip == EXPECTED_PIP
    assert found.pip_envs == EXPECTED_ENVS
    assert found.node == EXPECTED_NODE
    assert found.dpkg["libc6:i386"] == "2.36-9"


@pytest.mark.apptainer
def test_a_sif_of_the_same_tree_reads_the_same(tmp_path):
    import subprocess

    root = _linked_rootfs(tmp_path)
    sif = tmp_path / "tree.sif"
    subprocess.run(
        ["apptainer", "build", str(sif), str(root)], check=True, capture_output=True, timeout=300
    )
    found = static_capture(sif)
    assert (found.pip, found.pip_envs, found.node, found.dpkg) == (
        EXPECTED_PIP,
        EXPECTED_ENVS,
        EXPECTED_NODE,
        static_capture(root).dpkg,
    )


def test_editable_in_a_vcs_checkout_needs_exec(tmp_path):
    root = tmp_path / "rootfs"
    (root / "etc").mkdir(parents=True)
    site = root / "usr/local/lib/python3.11/dist-packages"
    _dist(site, "proj", "0.1", {"url": "file:///src/proj", "dir_info": {"editable": True}})
    (root / "src/proj/.git").mkdir(parents=True)
    with pytest.raises(TreeUnreadable, match="VCS"):
        static_capture(root)


def test_host_variables_forwarded_by_apptainer_are_removed():
    env = {"APPTAINERENV_X": "1", "SINGULARITYENV_Y": "2", "APPTAINER_BIND": "/a", "HOME": "/root"}
    assert host_env_to_remove(env) == ["APPTAINERENV_X", "APPTAINER_BIND", "SINGULARITYENV_Y"]


def test_compare_locks_names_every_difference(tmp_path):
    a = Lock(
        pip={"same": "1", "old": "1", "gone": "2"},
        node=json.dumps({"dependencies": {"n": {"version": "1"}}}),
    )
    b = Lock(
        pip={"same": "1", "old": "2", "new": "5"},
        node=json.dumps({"dependencies": {"n": {"version": "2"}}}),
        captured_at="2026-01-01T00:00:00Z",
        image_sha256="f" * 64,
    )
    diff = compare_locks(a, b, a_label="rough", b_label="rebuild")
    assert not diff.identical and diff.diff_count == 4
    assert diff.changed == {"pip:old": ("1", "2"), "node:n": ("1", "2")}
    assert diff.only_in_a == {"pip:gone": "2"} and diff.only_in_b == {"pip:new": "5"}
    # the seed's words, whatever the labels; the names go to detail()
    assert diff.summary() == (
        "2 changed (node:n: 1 -> 2, pip:old: 1 -> 2); 1 only in rough; 1 only in rebuild"
    )
    assert compare_locks(a, b, a_label="x", b_label="y").summary() == diff.summary()
    assert compare_locks(a, b, a_label="x", b_label="y").detail() == (
        "2 changed (node:n: 1 -> 2, pip:old: 1 -> 2); 1 only in x (pip:gone); 1 only in y (pip:new)"
    )
    assert diff.to_dict()["changed"]["pip:old"] == {"rough": "1", "rebuild": "2"}
    assert diff.for_manager("node").diff_count == 1
    # headers never count
    assert compare_locks(a, Lock(pip=a.pip, node=a.node, captured_at="x", command="y")).identical
    assert compare_locks(a, a).summary() == "version sets identical"
