"""The round trip on recipes in every form real collections use.

Each def under ``data/recipes`` (written for this test: globs, spaces,
quotes, ``{{ NAME }}``, a ``$VAR`` header, ``exit 0``, ``set -e`` with
functions, a ``-c`` interpreter, two ``%post`` sections, multi-stage, CRLF)
is pinned into another directory, and the locked def must resolve the same
``%files`` sources, build where the rough def builds, and run the pins
after the rough ``%post`` (busybox and Debian bases from the shared cache).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from scitex_container.apptainer.deffile import parse_def
from scitex_container.apptainer.deffile.sources import host_sources
from scitex_container.apptainer.lock.lockfile import Lock
from scitex_container.apptainer.lock.recipe_check import PROBE_LOCK, check_recipe
from scitex_container.apptainer.repro import archive_def

pytestmark = pytest.mark.apptainer

RECIPES = Path(__file__).parent / "data" / "recipes"
MARKER = "ROUGH-POST-DONE"


def _names(base: str) -> list[str]:
    return sorted(p.name for p in RECIPES.glob("*.def") if base in p.read_bytes().decode())


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, busybox_sif: Path, debian_sif: Path) -> Path:
    """The recipes with their base images filled in, in a directory of their own."""
    root = tmp_path_factory.mktemp("recipes") / "rough dir"
    shutil.copytree(RECIPES, root)
    for path in root.glob("*.def"):
        text = path.read_bytes().decode()
        text = text.replace("@BUSYBOX@", str(busybox_sif)).replace("@DEBIAN@", str(debian_sif))
        path.write_bytes(text.encode())
    os.symlink(busybox_sif, root / "inputs" / "$BASE.sif")
    return root


@pytest.fixture(scope="module")
def debian_lock(debian_sif: Path) -> Lock:
    """One pin the Debian base already satisfies: the apt stanza runs and installs nothing."""
    from scitex_container.apptainer.lock.pin import capture_to_memory

    return Lock(dpkg={"dpkg": capture_to_memory(debian_sif).dpkg["dpkg"]})


@pytest.mark.parametrize("name", _names("@BUSYBOX@") + _names("@DEBIAN@"))
def test_locked_recipe_means_what_the_rough_one_means(
    name: str, corpus: Path, tmp_path: Path, debian_lock: Lock
):
    lock = debian_lock if name in _names("@DEBIAN@") else PROBE_LOCK
    # a template source or From: is refused elsewhere (below): its locked def goes beside it
    work = corpus / "beside" if name == "templates.def" else tmp_path / "elsewhere"
    if name == "templates.def":
        (corpus / "beside").mkdir(exist_ok=True)
        name = "beside/templates.def"
        text = (corpus / "templates.def").read_text().replace("inputs/", "../inputs/")
        (corpus / name).write_text(text)
    check = check_recipe(corpus / name, work, lock=lock, build=True, sandbox=True, marker=MARKER)
    assert check.error == ""
    assert check.sources_equal, (check.rough_sources, check.locked_sources)
    assert check.rough_built, name
    assert check.locked_built, tmp_path / "elsewhere" / f"{Path(name).stem}.locked.log"
    assert check.pins_ran and check.ok


def test_corpus_sources_resolve_as_apptainer_copies_them(corpus: Path, tmp_path: Path):
    inputs = corpus / "inputs"
    globs = check_recipe(corpus / "globs.def", tmp_path / "a")
    assert globs.rough_sources == tuple(
        str(inputs / p)
        for p in ("JAGS-4.3.0.tar.gz", "JAGS-4.3.1.tar.gz", "d/e/tool.py", "a.txt", "b.txt")
    )
    spaces = check_recipe(corpus / "spaces.def", tmp_path / "b")
    assert spaces.rough_sources[:2] == (str(inputs / "file 1"), str(inputs / "dir two/x.cfg"))
    templates = check_recipe(corpus / "templates.def", tmp_path / "c")
    assert templates.error.startswith(f"{corpus}/templates.def:11: ")  # `{{ SRC }} {{ DEST }}`
    found = host_sources(parse_def(corpus / "templates.def"))
    assert [p for s in found for p in s.paths] == [inputs / "a.txt"]
    assert "inputs/JAGS-*.tar.gz" in Path(globs.locked_def).read_text()


def test_regenerating_a_wrapped_def_gives_the_rough_def_back(corpus: Path, tmp_path: Path):
    from scitex_container.apptainer.lock.pin import render_locked_def

    for name in ("exit0.def", "interpreter.def", "crlf.def"):
        beside = corpus / f"again-{name}"
        first = render_locked_def(corpus / name, Lock(), beside)
        beside.write_bytes(first.encode())
        again = render_locked_def(beside, Lock(dpkg={"x": "1"}), beside)
        assert again.count("SCITEX_ROUGH_POST\n") + again.count("SCITEX_ROUGH_POST\r\n") == 1
        assert render_locked_def(beside, Lock(), beside).endswith(first.split("\n", 3)[3])
        beside.unlink()


def test_archive_input_dirs_render_templates_and_globs(tmp_path: Path):
    """The archive reads %files through the same resolver: {{ NAME }} rendered, not skipped."""
    (tmp_path / "wheel dir").mkdir()
    (tmp_path / "wheel dir" / "a-1.0-py3-none-any.whl").write_text("")
    (tmp_path / "npm").mkdir()
    (tmp_path / "npm" / "t-1.0.0.tgz").write_text("")
    (tmp_path / "x.def").write_text(
        "Bootstrap: scratch\n%arguments\n    W=wheel dir\n%files\n"
        '    "{{ W }}/*.whl" /opt/w/\n    npm/*.tgz /opt/npm/\n'
    )
    assert archive_def.input_dirs(tmp_path / "x.def") == (tmp_path / "wheel dir", tmp_path / "npm")


def test_crlf_recipe_parses(corpus: Path):
    assert parse_def(corpus / "crlf.def").files_entries()[0].src == "inputs/JAGS-*.tar.gz"


# -- found by a tester on others' recipes ------------------------------------------------
SCRATCH_STAGES = """\
Bootstrap: scratch
Stage: build

%files
    /bin/busybox /bin/busybox
    /bin/busybox /bin/sh

%post
    echo building > /artifact.txt

Bootstrap: scratch
Stage: final

%files from build
    /artifact.txt /artifact.txt
"""


@pytest.mark.apptainer
def test_a_final_stage_without_a_shell_gets_no_post_when_there_is_nothing_to_pin(tmp_path):
    """Apptainer needs /bin/sh to run any %post; a scratch final stage has none."""
    from scitex_container.apptainer.lock.pin import generate_locked_def
    from scitex_container.process import runner

    rough = tmp_path / "ms.def"
    rough.write_text(SCRATCH_STAGES)
    out = tmp_path / "locked" / "ms.def"
    out.parent.mkdir()
    locked = generate_locked_def(rough, Lock(), out)
    stages = parse_def(locked).stages
    assert not stages[-1].sections_named("post")
    runner.run(["apptainer", "build", "--fakeroot", tmp_path / "ms.sif", locked], cwd=tmp_path)


@pytest.mark.parametrize("directory", ["g[1]", "st*r", "qm?", "br{x,y}"])
def test_a_def_in_a_directory_apptainer_would_glob_is_not_rebased_into_other_files(
    tmp_path, directory
):
    from scitex_container.apptainer.lock.pin import generate_locked_def
    from scitex_container.errors import DefFileError

    home = tmp_path / directory
    home.mkdir()
    (home / "bb").write_bytes(b"x")
    rough = home / "r.def"
    rough.write_text("Bootstrap: scratch\n\n%files\n    bb /bin/busybox\n")
    with pytest.raises(DefFileError, match="glob or brace") as info:
        generate_locked_def(rough, PROBE_LOCK, tmp_path / "elsewhere.def")
    assert info.value.line == 4
    beside = generate_locked_def(rough, PROBE_LOCK, home / "locked.def")  # beside: relative
    assert "    bb /bin/busybox" in beside.read_text()


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("Bootstrap: localimage\nFrom: {{ FROMSIF }}\n\n%files\n    {{ SRC }} /opt/x\n", 5),
        ("Bootstrap: localimage\nFrom: {{ FROMSIF }}\n", 2),  # `/dir/{{ X }}` broke /abs
        ("Bootstrap: {{ BS }}\nFrom: bb.sif\n\n%arguments\n    BS=localimage\n", 1),
        ('Bootstrap: localimage\nFrom: b.sif\n\n%files\n    "data"/a.txt /opt/q3/\n', 5),
    ],
)
def test_what_no_rewrite_keeps_is_refused_elsewhere_and_kept_beside(tmp_path, text, line):
    """A template's value (quoted, absolute or relative, or a build arg) needs another rewrite."""
    from scitex_container.apptainer.lock.pin import generate_locked_def
    from scitex_container.errors import DefFileError

    rough = tmp_path / "a" / "t.def"
    rough.parent.mkdir()
    rough.write_text(text)
    with pytest.raises(DefFileError, match="beside the rough def") as info:
        generate_locked_def(rough, PROBE_LOCK, tmp_path / "b" / "t.def")
    assert info.value.line == line and not (tmp_path / "b").exists()
    beside = generate_locked_def(rough, PROBE_LOCK, rough.parent / "t.locked.def").read_text()
    assert text.split("\n", 1)[1] in beside


@pytest.mark.apptainer
def test_a_destinationless_glob_and_var_sources_keep_apptainers_meaning_elsewhere(
    tmp_path, busybox_sif, monkeypatch
):
    """`data/*.csv` stays a glob matched at build time; `$HOME/x` stays the build's $HOME."""
    from scitex_container.apptainer.lock.pin import generate_locked_def
    from scitex_container.process import runner

    home = Path(os.environ["HOME"])  # the isolated test home: apptainer's build inherits it
    (home / "inhome.txt").write_text("home")
    rough_dir = tmp_path / "rough"
    (rough_dir / "data").mkdir(parents=True)
    (rough_dir / "sub").mkdir()
    (rough_dir / "data" / "a.csv").write_text("a")
    (rough_dir / "sub" / "rel.txt").write_text("rel")
    monkeypatch.setenv("SCITEX_TEST_SUBDIR", "sub")  # a relative value: rebased like any path
    rough = rough_dir / "r.def"
    rough.write_text(
        f"Bootstrap: localimage\nFrom: {busybox_sif}\n\n%files\n    data/*.csv\n"
        "    $HOME/inhome.txt /opt/home.txt\n    ${SCITEX_TEST_SUBDIR}/rel.txt /opt/rel.txt\n"
    )
    out = tmp_path / "elsewhere" / "r.def"
    out.parent.mkdir()
    text = generate_locked_def(rough, Lock(), out).read_text()
    assert "    $HOME/inhome.txt /opt/home.txt" in text  # absolute through $HOME: as written
    # only a.csv exists at pin time; b.csv comes later and the glob must still take it
    (rough_dir / "data" / "b.csv").write_text("b")
    sif = tmp_path / "locked.sif"
    runner.run(["apptainer", "build", "--fakeroot", sif, out], cwd=out.parent)
    shown = runner.run(
        [
            "apptainer",
            "exec",
            sif,
            "cat",
            "/data/a.csv",
            "/data/b.csv",
            "/opt/home.txt",
            "/opt/rel.txt",
        ]
    ).stdout
    assert shown == "abhomerel"


def test_a_hash_in_the_directory_put_before_from_is_refused(tmp_path):
    """Apptainer reads `#` in a header as a comment: `From: /a#b/bb.sif` would be `/a`."""
    from scitex_container.apptainer.lock.pin import generate_locked_def
    from scitex_container.errors import DefFileError

    home = tmp_path / "we#ird"
    home.mkdir()
    rough = home / "r.def"
    rough.write_text("Bootstrap: localimage\nFrom: bb.sif\n")
    with pytest.raises(DefFileError, match="holds a `#`") as info:
        generate_locked_def(rough, PROBE_LOCK, tmp_path / "out" / "r.def")
    assert info.value.line == 2
    assert "From: bb.sif" in generate_locked_def(rough, PROBE_LOCK, home / "l.def").read_text()
