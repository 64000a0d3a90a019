"""The locked def generator: stanzas, scopes, skips, regeneration, determinism.

These check the generated text (and that sh accepts it); the builds that
run the stanzas for real are in test_repro.py.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap

import pytest

from scitex_container._version import __version__
from scitex_container.apptainer.deffile import parse_def
from scitex_container.apptainer.lock.lockfile import Lock, write_lock
from scitex_container.apptainer.lock.pin import (
    HEADER_PREFIX,
    generate_locked_def,
    render_locked_def,
)
from scitex_container.apptainer.lock.post_wrap import SCRIPT
from scitex_container.apptainer.repro.detect import PIN_BLOCK_TAG, analyse_def
from scitex_container.apptainer.repro.stanzas import SnapshotMirror
from scitex_container.errors import BadInputError
from scitex_container.process import runner

BEGIN, END = f"# >>> {PIN_BLOCK_TAG} >>>", f"# <<< {PIN_BLOCK_TAG} <<<"

ROUGH = textwrap.dedent(
    """\
    # a rough def
    Bootstrap: debootstrap
    OSVersion: bookworm
    MirrorURL: http://deb.debian.org/debian
    Include: python3-pip, ca-certificates

    %files
        wheels /opt/wheels
        npm /opt/npm

    %post
        export DEBIAN_FRONTEND=noninteractive
        apt-get update && apt-get install -y --no-install-recommends \\
            jq nodejs npm
        pip3 install --break-system-packages --no-index --find-links /opt/wheels \\
            alpha beta
        npm install -g --offline --no-audit /opt/npm/tool-1.0.0.tgz
        rm -rf /var/lib/apt/lists/*

    %runscript
        exec jq --version
    """
)

NPM = json.dumps({"dependencies": {"tool": {"version": "1.0.0"}, "@sc/x": {"version": "2.0.0"}}})


def full_lock(**extra) -> Lock:
    return Lock(
        pip={
            "alpha": "1.0",
            "beta": "2.0",
            "pip": "23.0.1",
            "gamma @ file:///opt/w/gamma-1.0-py3-none-any.whl": "",
            "-e git+https://example.org/r.git@abc#egg=r": "",
        },
        dpkg={
            "jq": "1.6-2.1",
            "libjq1": "1.6-2.1",
            "libc6": "2.36-9+deb12u9",
            "nodejs": "18.19.0+dfsg-6~deb12u2",
            "npm": "9.2.0~ds1-1",
            "python3-pip": "23.0.1+dfsg-1",
        },
        node=NPM,
        image_sha256="f" * 64,
        captured_at="2026-05-24T10:00:00Z",
        **extra,
    )


@pytest.fixture()
def rough(tmp_path):
    (tmp_path / "wheels").mkdir()
    (tmp_path / "npm").mkdir()
    path = tmp_path / "rough.def"
    path.write_text(ROUGH)
    return path


def block(text: str) -> str:
    """The pin stanzas: the generated block after the wrapped rough %post."""
    start, end = text.index(BEGIN), text.index(END)
    gen = text[start : end + len(END)]
    wrapped = f"rm -f {SCRIPT}\n"
    return gen.split(wrapped, 1)[1] if wrapped in gen else gen


def sh_syntax_ok(script: str) -> None:
    sh = shutil.which("dash") or shutil.which("sh")
    proc = subprocess.run([sh, "-n"], input=script, text=True, capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr


def test_detects_the_rough_defs_sources(rough):
    usage = analyse_def(parse_def(rough))
    assert usage.pip.commands == ("pip3",)
    assert usage.pip.options == ("--no-index", "--find-links", "/opt/wheels")
    assert usage.apt_explicit == ("ca-certificates", "jq", "nodejs", "npm", "python3-pip")
    assert usage.npm_tarball_dirs == ("/opt/npm",)
    assert usage.npm_options == ("--offline",)


def test_pip_only_no_index_when_every_install_used_it(tmp_path):
    path = tmp_path / "x.def"
    path.write_text(
        "Bootstrap: localimage\nFrom: base.sif\n%post\n"
        "    pip3 install --no-index -f /w a\n"
        "    python3 -m pip install --extra-index-url=https://idx.example/simple b\n"
    )
    usage = analyse_def(parse_def(path))
    assert usage.pip.commands == ("pip3", "python3 -m pip")
    assert "--no-index" not in usage.pip.options
    assert usage.pip.options == (
        "--find-links",
        "/w",
        "--extra-index-url",
        "https://idx.example/simple",
    )


def test_stanzas_pin_every_manager(rough, tmp_path):
    out = generate_locked_def(rough, full_lock(), tmp_path / "rough.locked.def")
    text = out.read_text()
    gen = block(text)
    # apt: a debootstrap base floats with its mirror, so every package is pinned
    assert "apt-get install -y --allow-downgrades --no-install-recommends" in gen
    for pin in ("jq=1.6-2.1", "libc6=2.36-9+deb12u9", "python3-pip=23.0.1+dfsg-1"):
        assert f"\n{pin}\n" in gen
    # pip: exact pins through a requirements file, --no-deps, the def's own sources
    assert (
        "alpha==1.0\nbeta==2.0\ngamma @ file:///opt/w/gamma-1.0-py3-none-any.whl\npip==23.0.1\n"
        in gen
    )
    assert (
        "install --no-deps --disable-pip-version-check $_scx_bsp "
        "--no-index --find-links /opt/wheels" in gen
    )
    assert "for _scx_c in pip3 pip 'python3 -m pip' /opt/*/bin/pip; do" in gen
    assert "--break-system-packages" in gen and "EXTERNALLY-MANAGED" in gen
    assert "not pinnable (editable or VCS install" in gen
    # npm: name@version, found in the def's tarball directory when there
    assert "\n@sc/x@2.0.0\ntool@1.0.0\n" in gen
    assert (
        "for _scx_d in /opt/npm; do" in gen
        and "npm install -g --no-audit --no-fund --offline $_scx_args" in gen
    )
    # order: apt first (pip and npm may come from apt)
    assert gen.index("--- apt:") < gen.index("--- pip:") < gen.index("--- npm:")
    # the block ends the final %post; the rest of the def is unchanged
    assert text.index(END) < text.index("%runscript")
    assert text.endswith(ROUGH[ROUGH.index("\n%runscript") :])
    sh_syntax_ok("".join(s.raw_body for s in parse_def(out).stage(-1).sections_named("post")))


def test_header_names_version_and_regenerating_command(rough, tmp_path):
    lock_path = write_lock(full_lock(), tmp_path / "x.lock")
    out = generate_locked_def(rough, lock_path, tmp_path / "out.def", snapshot_mirror="2024-01-15")
    head = [ln for ln in out.read_text().splitlines() if ln.startswith(HEADER_PREFIX)]
    assert f"scitex-container {__version__}" in head[0]
    assert any(
        f"Regenerate: scitex-container lock pin {rough} {lock_path} "
        f"-o {tmp_path / 'out.def'} --snapshot 2024-01-15" in ln
        for ln in head
    )
    assert "f" * 64 in "\n".join(head)


def test_output_is_deterministic(rough, tmp_path):
    a = render_locked_def(rough, full_lock(), tmp_path / "a.def")
    b = render_locked_def(rough, full_lock(), tmp_path / "a.def")
    assert a == b


def test_regenerating_replaces_never_stacks(rough, tmp_path):
    first = generate_locked_def(rough, full_lock(), tmp_path / "rough.locked.def")
    text1 = first.read_text()
    # from the locked def into itself, with other pins: one block, one header, new pins
    newer = Lock(pip={"alpha": "1.1"}, dpkg={"jq": "1.7"}, node=NPM)
    again = generate_locked_def(first, newer, first)
    text2 = again.read_text()
    assert text2.count(BEGIN) == 1 and text2.count(END) == 1
    assert sum(ln.startswith(HEADER_PREFIX) for ln in text2.splitlines()) == sum(
        ln.startswith(HEADER_PREFIX) for ln in text1.splitlines()
    )
    assert "alpha==1.1" in text2 and "alpha==1.0" not in text2
    # and back: regenerating with the first lock gives the first def again
    # (only the header's command differs: it now names the locked def as input)
    third = generate_locked_def(first, full_lock(), first)

    def body(t: str) -> list[str]:
        return [ln for ln in t.splitlines() if not ln.startswith(HEADER_PREFIX)]

    assert body(third.read_text()) == body(text1)


def test_pip_source_detection_ignores_the_generated_block(rough, tmp_path):
    first = generate_locked_def(rough, full_lock(), tmp_path / "rough.locked.def")
    assert analyse_def(parse_def(first)) == analyse_def(parse_def(rough))


def test_an_empty_lock_adds_no_post_to_a_def_without_one(tmp_path):
    """Nothing to run: no %post is created (apptainer would need a shell to run it)."""
    path = tmp_path / "busy.def"
    path.write_text("Bootstrap: scratch\n%setup\n    true\n")
    text = render_locked_def(path, Lock(), tmp_path / "busy.locked.def")
    assert "%post" not in text and BEGIN not in text
    assert text.endswith("Bootstrap: scratch\n%setup\n    true\n")


def test_missing_managers_are_skipped_with_a_reason(tmp_path):
    path = tmp_path / "busy.def"
    path.write_text("Bootstrap: scratch\n%post\n    true\n")
    text = render_locked_def(path, Lock(), tmp_path / "busy.locked.def")
    gen = block(text)
    assert "# --- apt: skipped: the lock holds no dpkg packages" in gen
    assert "# --- pip: skipped: the lock holds no pip-installed packages" in gen
    assert "# --- npm: skipped: the lock holds no global npm packages" in gen
    assert "apt-get" not in gen and "pip install" not in gen and "npm install" not in gen


def test_dpkg_owned_python_packages_are_not_called_no_pip_packages(tmp_path):
    path = tmp_path / "d.def"
    path.write_text("Bootstrap: scratch\n%post\n    true\n")
    lock = Lock(
        dpkg={"python3-pip": "23.0.1+dfsg-1"},
        pip={"pip": "23.0.1"},
        provided_by={"pip:pip": "dpkg:python3-pip"},
    )
    gen = block(render_locked_def(path, lock, tmp_path / "d.locked.def"))
    assert "# --- pip: skipped: the lock holds no pip-installed packages ---" in gen
    assert "# pip: pip is dpkg:python3-pip's, pinned with it" in gen


def test_stanzas_skip_at_build_time_without_the_manager(rough, tmp_path):
    gen = block(render_locked_def(rough, full_lock(), tmp_path / "x.def"))
    assert "no apt-get/dpkg-query in this image; apt pins skipped" in gen
    assert "no pip in this image; pip pins skipped" in gen
    assert "no npm in this image; npm pins skipped" in gen


def test_apt_scope_added_subtracts_the_base_images_lock(tmp_path):
    path = tmp_path / "child.def"
    path.write_text(
        "Bootstrap: localimage\nFrom: /nonexistent/base.sif\n%post\n    apt-get install -y jq\n"
    )
    base = Lock(dpkg={"libc6": "2.36-9+deb12u9", "jq": "1.6-2", "python3-pip": "23.0.1+dfsg-1"})
    gen = block(render_locked_def(path, full_lock(), tmp_path / "c.def", base_lock=base))
    pins = gen.split("<<'SCITEX_APT_PINS'\n")[1].split("SCITEX_APT_PINS")[0].split()
    # same name and version as the base: not pinned; changed (jq) or new: pinned
    assert pins == [
        "jq=1.6-2.1",
        "libjq1=1.6-2.1",
        "nodejs=18.19.0+dfsg-6~deb12u2",
        "npm=9.2.0~ds1-1",
    ]
    assert "scope added: beyond the base image" in gen


def test_apt_scope_explicit_all_none(rough, tmp_path):
    explicit = block(
        render_locked_def(rough, full_lock(), tmp_path / "x.def", apt_scope="explicit")
    )
    pins = explicit.split("<<'SCITEX_APT_PINS'\n")[1].split("SCITEX_APT_PINS")[0].split()
    assert pins == [
        "jq=1.6-2.1",
        "nodejs=18.19.0+dfsg-6~deb12u2",
        "npm=9.2.0~ds1-1",
        "python3-pip=23.0.1+dfsg-1",
    ]
    every = block(render_locked_def(rough, full_lock(), tmp_path / "x.def", apt_scope="all"))
    assert len(every.split("<<'SCITEX_APT_PINS'\n")[1].split("SCITEX_APT_PINS")[0].split()) == 6
    none = block(render_locked_def(rough, full_lock(), tmp_path / "x.def", apt_scope="none"))
    assert "apt: skipped: apt pinning turned off" in none and "apt-get install" not in none
    with pytest.raises(BadInputError, match="apt scope"):
        render_locked_def(rough, full_lock(), tmp_path / "x.def", apt_scope="some")


def test_snapshot_mirror_timestamp(rough, tmp_path):
    gen = block(
        render_locked_def(
            rough, full_lock(), tmp_path / "x.def", snapshot_mirror="20240115T083000Z"
        )
    )
    assert "http://snapshot.debian.org/archive/debian/20240115T083000Z" in gen
    assert "http://snapshot.debian.org/archive/debian-security/20240115T083000Z" in gen
    assert "http://snapshot.ubuntu.com/ubuntu/20240115T083000Z" in gen
    assert 'echo "deb [check-valid-until=no] $1 $2 $_scx_comp"' in gen
    assert '_scx_add "$_scx_sec" "$_scx_codename-security"' in gen
    assert "rm -f /etc/apt/sources.list.d/scitex-container-snapshot.list" in gen
    sh_syntax_ok(gen)
    # the sources are only written when some pin differs (inside the todo branch)
    assert gen.index('if [ -s "$_scx_tmp/apt-todo" ]') < gen.index("snapshot.debian.org")


def test_snapshot_mirror_from_lock_and_url(rough, tmp_path):
    from_lock = block(
        render_locked_def(rough, full_lock(), tmp_path / "x.def", snapshot_mirror="lock")
    )
    assert "archive/debian/20260524T100000Z" in from_lock
    url = block(
        render_locked_def(
            rough, full_lock(), tmp_path / "x.def", snapshot_mirror="http://mirror.example/debian/"
        )
    )
    assert "_scx_base=http://mirror.example/debian" in url and "snapshot.debian.org" not in url
    with pytest.raises(BadInputError, match="snapshot"):
        render_locked_def(rough, full_lock(), tmp_path / "x.def", snapshot_mirror="yesterday")
    with pytest.raises(BadInputError, match="capture time"):
        render_locked_def(rough, Lock(dpkg={"a": "1"}), tmp_path / "x.def", snapshot_mirror="lock")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-15", SnapshotMirror(timestamp="20240115T000000Z")),
        ("2024-01-15T08:30:00Z", SnapshotMirror(timestamp="20240115T083000Z")),
        ("2026-05-24T10:00:00+00:00", SnapshotMirror(timestamp="20260524T100000Z")),
        (
            "https://snapshot.ubuntu.com/ubuntu/20240115T000000Z/",
            SnapshotMirror(url="https://snapshot.ubuntu.com/ubuntu/20240115T000000Z"),
        ),
    ],
)
def test_snapshot_parse(value, expected):
    assert SnapshotMirror.parse(value) == expected


def test_relative_paths_rebased_only_when_written_elsewhere(rough, tmp_path):
    beside = render_locked_def(rough, full_lock(), tmp_path / "rough.locked.def")
    assert "\n    wheels /opt/wheels\n" in beside
    away = tmp_path / "out"
    away.mkdir()
    text = render_locked_def(rough, full_lock(), away / "rough.locked.def")
    assert f"\n    {tmp_path}/wheels /opt/wheels\n" in text
    assert f"\n    {tmp_path}/npm /opt/npm\n" in text
    assert "Relative paths made absolute" in text


def test_localimage_from_rebased(tmp_path):
    path = tmp_path / "child.def"
    path.write_text("Bootstrap: localimage\nFrom: base.sif\n%post\n    true\n")
    (tmp_path / "o").mkdir()
    text = render_locked_def(path, Lock(), tmp_path / "o" / "child.locked.def")
    assert f"\nFrom: {tmp_path}/base.sif\n" in text


def test_dry_run_writes_nothing(rough, tmp_path):
    out = tmp_path / "dry.def"
    with runner.dry_run():
        assert generate_locked_def(rough, full_lock(), out) == out
    assert not out.exists()


def test_bad_lock_file_is_an_error(rough, tmp_path):
    bad = tmp_path / "bad.lock"
    bad.write_text("# scitex-container lock\n[pip]\nnot a pin line\n")
    with pytest.raises(BadInputError, match=r"bad.lock:3"):
        generate_locked_def(rough, bad, tmp_path / "x.def")


# The pip stanza the seed's generate_locked_def appended to a locked def (restated).
SEED_STANZA = """
# --- scitex-container: pinned pip versions (generated) ---------------
# Re-pin every pip package to the version frozen from the rough build.
%post
    set -e
    cat > /tmp/scitex-pins.txt <<'SCITEX_PINS'
numpy==1.26.0
SCITEX_PINS
    _pip="$(command -v pip3 || command -v pip)"
    "$_pip" install --no-deps -r /tmp/scitex-pins.txt
    rm -f /tmp/scitex-pins.txt
# --- end scitex-container pins ---------------------------------------
"""


def test_repinning_a_seed_made_locked_def_replaces_the_seeds_stanza(rough, tmp_path):
    seed_locked = tmp_path / "seed.locked.def"
    seed_locked.write_text(rough.read_text().rstrip("\n") + "\n" + SEED_STANZA)
    text = render_locked_def(seed_locked, Lock(pip={"numpy": "2.0.0"}), tmp_path / "x.def")
    assert "numpy==2.0.0" in text
    assert "numpy==1.26.0" not in text and "scitex-pins.txt" not in text
    plain = render_locked_def(rough, Lock(pip={"numpy": "2.0.0"}), tmp_path / "x.def")
    body = [ln for ln in text.splitlines() if not ln.startswith(HEADER_PREFIX)]
    assert body == [ln for ln in plain.splitlines() if not ln.startswith(HEADER_PREFIX)]
    unended = tmp_path / "bad.def"
    unended.write_text(seed_locked.read_text().replace("# --- end scitex-container pins", "#"))
    with pytest.raises(BadInputError, match=r"bad\.def:\d+: the seed's pin stanza"):
        render_locked_def(unended, Lock(pip={"numpy": "2.0.0"}), tmp_path / "x.def")


def test_an_empty_npm_version_is_never_pinned(tmp_path):
    """The seed writes an empty version for "unpinned": `npm install -g name@` would take latest."""
    path = tmp_path / "n.def"
    path.write_text("Bootstrap: scratch\n%post\n    true\n")
    deps = {"left-pad": {"version": ""}, "kept": {"version": "1.0.0"}}
    lock = Lock(node=json.dumps({"dependencies": deps}))
    text = render_locked_def(path, lock, tmp_path / "n.locked.def")
    assert "kept@1.0.0" in text
    assert "left-pad@" not in text
