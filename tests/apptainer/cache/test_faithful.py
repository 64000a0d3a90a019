"""A build through the stage cache makes the image a cold build makes, or builds cold:
extended attributes, SCIF apps, the host variables apptainer passes into `%post`,
multi-stage defs (each case found by a tester, on the real apptainer)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from scitex_container.apptainer import tool
from scitex_container.apptainer.building.inputs import compute_inputs
from scitex_container.apptainer.building.versioned import build_version
from scitex_container.apptainer.cache.entries import StageCache
from scitex_container.apptainer.cache.hook import prepare_def
from scitex_container.apptainer.cache.staged import run_staged
from scitex_container.apptainer.cache.stages import BASE_LABEL, may_reach_network, plan_stages
from scitex_container.apptainer.deffile import parse_def_text
from scitex_container.errors import ProcessError, StageCacheFallback

pytestmark = [pytest.mark.apptainer, pytest.mark.stage_cache]


def run(image: Path, *argv: str) -> str:
    done = subprocess.run(
        ["apptainer", "exec", str(image), *argv], check=True, capture_output=True, text=True
    )
    return done.stdout


def build(recipe: Path, cache: StageCache | None, **kw):
    out = recipe.parent / "out"
    return build_version(def_path=recipe, output_dir=out, stage_cache=cache, force=True, **kw)


XATTR = """\
Bootstrap: localimage
From: {base}

%post
    echo hi > /f
    python3 -c "import os; os.setxattr('/f', 'user.scitex', b'kept')"
"""


def test_a_stage_holding_xattrs_is_no_base_the_build_goes_cold(
    tmp_path: Path, debian_sif: Path
) -> None:
    # apptainer's `Bootstrap: localimage` from a sandbox (a stage on the one before) drops
    # extended attributes: the image built on such a stage would lack them, silently
    recipe = tmp_path / "x.def"
    recipe.write_text(XATTR.format(base=debian_sif))
    cache = StageCache(tmp_path / "cache")
    said: list[str] = []
    done = build(recipe, cache, progress=said.append)
    assert "stage post-1 holds extended attributes" in (done.cache_note or "")
    assert done.stages == ()  # built cold: the staged image was not published
    held = "import os; print(os.getxattr('/f', 'user.scitex').decode())"
    assert run(done.artifact, "python3", "-c", held).strip() == "kept"
    # the stage that holds them is kept (so the next build decides at once), marked
    entries = {e.stage: e for e in cache.entries()}
    assert sorted(entries) == ["bootstrap", "post-1"]
    assert entries["post-1"].xattrs and not entries["bootstrap"].xattrs
    assert not os.listdir(cache.tmp_dir)  # nothing built on it is left
    # found by lookup: cold before anything is built on it
    inputs = compute_inputs(recipe)
    prepared = prepare_def(
        parse_def_text(inputs.def_text, str(recipe)),
        build_args=None,
        fakeroot=tool.choose_fakeroot(None),
        files=inputs.files,
        images=inputs.images,
    )
    built: list[Path] = []

    def never(def_file: Path, target: Path, sandbox: bool, args) -> tuple[str, ...]:
        built.append(def_file)
        raise AssertionError("built on a stage holding extended attributes")

    with pytest.raises(StageCacheFallback, match="post-1 holds extended attributes"):
        run_staged(
            prepared,
            cache,
            tmp_path / "never.sif",
            sandbox=False,
            build_args=None,
            build=never,
            scratch=tmp_path,
        )
    assert built == []


APPS = """\
Bootstrap: localimage
From: {base}

%appinstall tool
    echo installed > made

%post
    ls /scif/apps > /seen 2>&1 || echo none > /seen
"""


def test_a_def_with_scif_apps_builds_cold_as_post_sees_them(
    tmp_path: Path, busybox_sif: Path
) -> None:
    # apptainer applies %app* after all of %post, which a cold build's %post sees in /scif
    recipe = tmp_path / "a.def"
    recipe.write_text(APPS.format(base=busybox_sif))
    cached = build(recipe, StageCache(tmp_path / "cache"))
    assert cached.stages == () and "`%appinstall` (line 4)" in (cached.cache_note or "")
    seen = run(cached.artifact, "cat", "/seen")
    assert seen == run(build(recipe, None).artifact, "cat", "/seen") and "tool" in seen
    for section in ("appfiles", "appenv", "apprun", "applabels", "apphelp", "apptest"):
        text = APPS.replace("%appinstall tool", f"%{section} tool")
        assert f"`%{section}`" in (plan_stages(parse_def_text(text, "r.def")).uncacheable or "")


PASSED = """\
Bootstrap: localimage
From: {base}

%post
    echo "$TERM $http_proxy $NO_PROXY" > /seen
"""


def test_the_host_variables_apptainer_passes_into_post_are_keyed(
    tmp_path: Path, busybox_sif: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recipe = tmp_path / "e.def"
    recipe.write_text(PASSED.format(base=busybox_sif))
    cache = StageCache(tmp_path / "cache")
    monkeypatch.setenv("TERM", "vt100")
    monkeypatch.setenv("http_proxy", "http://one.invalid:3128")
    monkeypatch.setenv("NO_PROXY", "a")
    first = build(recipe, cache)
    monkeypatch.setenv("http_proxy", "http://two.invalid:3128")
    second = build(recipe, cache)
    runs = {s.name: s for s in second.stages}
    assert not runs["post-1"].reused and runs["post-1"].key != first.stages[1].key
    assert run(second.artifact, "cat", "/seen") == "vt100 http://two.invalid:3128 a\n"
    # the image names the entry it was built on (its def's `From:` was a making path)
    labels = json.loads(
        subprocess.run(
            ["apptainer", "inspect", "--json", "--labels", str(second.artifact)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )["data"]["attributes"]["labels"]
    assert labels[BASE_LABEL] == runs["post-1"].key
    assert StageCache(tmp_path / "cache").read(runs["post-1"].key).stage == "post-1"


def test_post_naming_the_hosts_tmp_counts_as_reaching_the_network() -> None:
    # apptainer binds the host's /tmp and /var/tmp into %post: what is read there is unkeyed
    assert may_reach_network("cp /tmp/x /x")
    assert may_reach_network("cat /var/tmp/a > /b")
    assert may_reach_network("cd /tmp && ls")
    assert may_reach_network("cp /dev/shm/site.conf /etc/")  # /dev is the host's too
    assert may_reach_network("cat /run/shm/x > /y")
    assert not may_reach_network("mkdir -p /opt/dev/shmem")
    assert not may_reach_network("mkdir /opt/tmp /tmpdir && echo tmp > /etc/tmp.conf")


MULTI = """\
Bootstrap: localimage
From: {base}
Stage: one

%post
    false

Bootstrap: localimage
From: {base}
Stage: two

%post
    echo two > /two
"""


def test_an_unused_earlier_stage_that_fails_fails_the_cached_build_too(
    tmp_path: Path, busybox_sif: Path
) -> None:
    recipe = tmp_path / "m.def"
    recipe.write_text(MULTI.format(base=busybox_sif))
    with pytest.raises(ProcessError):  # a cold build runs `Stage: one`, and fails
        build(recipe, None)
    with pytest.raises(ProcessError):
        build(recipe, StageCache(tmp_path / "cache"))


LIBS = """\
Bootstrap: localimage
From: {base}

%post
    cat /.singularity.d/libs/libfake.so > /seen 2>/dev/null || echo none > /seen
"""


@pytest.mark.parametrize("variable", ["APPTAINER_CONTAINLIBS", "SINGULARITY_NO_MOUNT"])
def test_a_host_variable_that_shows_post_host_files_builds_cold(
    tmp_path: Path, busybox_sif: Path, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    # what the bound host file holds is in no key: a cached stage would keep its old content
    recipe = tmp_path / "l.def"
    recipe.write_text(LIBS.format(base=busybox_sif))
    lib = tmp_path / "libfake.so"
    lib.write_text("one\n")
    value = str(lib) if variable.endswith("LIBS") else "tmp"
    monkeypatch.setenv(variable, value)
    cached = build(recipe, StageCache(tmp_path / "cache"))
    assert cached.stages == () and variable in (cached.cache_note or "")
    assert not (tmp_path / "cache" / "entries").exists() or not any(
        (tmp_path / "cache" / "entries").iterdir()
    )
    if variable == "APPTAINER_CONTAINLIBS":  # the cold build saw the host file, as apptainer does
        assert run(cached.artifact, "cat", "/seen") == "one\n"


def test_apptainer_variables_that_cannot_change_post_keep_the_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from scitex_container import envvars

    for name in [k for k in os.environ if k.startswith(("APPTAINER_", "SINGULARITY_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("APPTAINER_TMPDIR", "/var/tmp")
    monkeypatch.setenv("SINGULARITY_CACHEDIR", "/var/tmp/c")
    monkeypatch.setenv("APPTAINERENV_X", "keyed, not a reason to go cold")
    monkeypatch.setenv("APPTAINER_BIND", "")
    assert envvars.container_build_vars() == {}
    monkeypatch.setenv("APPTAINER_NO_MOUNT", "tmp")
    assert envvars.container_build_vars() == {"APPTAINER_NO_MOUNT": "tmp"}
