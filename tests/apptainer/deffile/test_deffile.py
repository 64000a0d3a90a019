"""Tests of the def-file model: parsing, line numbers, errors, edits, emit."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from scitex_container.apptainer.deffile import DefFile, parse_def, parse_def_text, validate_files
from scitex_container.errors import BadInputError, DefFileError

DEFS = Path(__file__).parent / "data" / "defs"
ALL_DEFS = sorted(DEFS.glob("*.def"))
TAG = "scitex-container pins"


def sections_of(deffile: DefFile) -> list[tuple[int, str, str, int]]:
    """(stage, name, args, line) for every section."""
    return [(i, s.name, s.args, s.line) for i, s in deffile.iter_sections()]


def header_of(deffile: DefFile, stage: int = 0) -> list[tuple[str, str, int]]:
    return [(e.key, e.value, e.line) for e in deffile.stages[stage].header]


# -- round trip ----------------------------------------------------------------


def test_there_are_enough_fixtures() -> None:
    assert len(ALL_DEFS) >= 10


@pytest.mark.parametrize("path", ALL_DEFS, ids=lambda p: p.name)
def test_emit_is_byte_identical(path: Path) -> None:
    deffile = parse_def(path)
    assert deffile.to_bytes() == path.read_bytes()
    assert deffile.emit() == deffile.text()
    assert parse_def_text(deffile.emit(), str(path)) == deffile


@pytest.mark.parametrize("path", ALL_DEFS, ids=lambda p: p.name)
def test_fixture_host_files_exist(path: Path) -> None:
    validate_files(parse_def(path))


def test_line_endings_and_odd_bytes_survive() -> None:
    crlf = parse_def(DEFS / "crlf.def")
    assert crlf.to_bytes().count(b"\r\n") == 8
    assert header_of(crlf) == [("Bootstrap", "docker", 1), ("From", "alpine:3.19", 2)]
    assert crlf.sections[0].body_lines() == [(5, "    apk add --no-cache bash"), (6, "")]
    text = "Bootstrap: docker\n%post\n  echo caf\udce9 \x0c\r\r\n\r\n  x"
    deffile = parse_def_text(text)
    assert deffile.emit() == text
    assert deffile.to_bytes() == b"Bootstrap: docker\n%post\n  echo caf\xe9 \x0c\r\r\n\r\n  x"
    assert deffile.sections[0].body_lines() == [(3, "  echo caf\udce9 \x0c\r"), (4, ""), (5, "  x")]


def test_no_trailing_newline() -> None:
    deffile = parse_def(DEFS / "no_newline.def")
    assert deffile.sections[-1].raw_body == '    echo "no newline at end"'
    assert deffile.emit().endswith('"no newline at end"')


# -- structure and line numbers --------------------------------------------------


def test_debootstrap_header_and_sections() -> None:
    deffile = parse_def(DEFS / "debootstrap.def")
    assert header_of(deffile) == [
        ("Bootstrap", "debootstrap", 3),
        ("OSVersion", "jammy", 4),
        ("MirrorURL", "http://archive.ubuntu.com/ubuntu/", 5),
        ("Include", "ca-certificates curl python3", 6),
    ]
    assert deffile.bootstrap == "debootstrap"
    assert deffile.from_ is None
    assert deffile.get("osversion") == deffile.get("OSVERSION") == "jammy"
    assert sections_of(deffile) == [
        (0, "setup", "", 8),
        (0, "post", "", 11),
        (0, "environment", "", 16),
        (0, "runscript", "", 20),
    ]
    assert deffile.stages[0].raw_header.startswith("# Minimal Ubuntu")
    post = deffile.sections[1]
    assert post.body_lines()[0] == (
        12,
        "    sed -i 's/main/main restricted universe/g' /etc/apt/sources.list",
    )


def test_header_with_tabs_comments_case_and_continuations() -> None:
    deffile = parse_def(DEFS / "header_tabs.def")
    vault = "https://dl.rockylinux.org/vault/rocky/%{OSVERSION}"
    assert header_of(deffile) == [
        ("bootstrap", "yum", 4),
        ("OSVERSION", "9", 5),
        ("MirrorURL", f"{vault}/BaseOS/x86_64/os/", 6),
        ("Include", "dnf vim-minimal which", 7),
        ("OtherURL0", "https://example.org/extra", 10),
        ("UpdateURL", f"{vault}/AppStream/x86_64/os/", 12),
    ]
    assert [e.name for e in deffile.header][:2] == ["bootstrap", "osversion"]
    assert sections_of(deffile) == [(0, "post", "", 14)]


def test_docker_labels_and_help() -> None:
    deffile = parse_def(DEFS / "docker.def")
    assert (deffile.bootstrap, deffile.from_) == ("docker", "python:3.11-slim-bookworm")
    assert deffile.labels() == {
        "Author": "lab@example.org",
        "Version": "v0.3.1",
        "org.opencontainers.image.source": "https://example.org/analysis",
    }
    assert [s.name for s in deffile.sections] == ["labels", "help", "runscript", "test"]
    assert [s.line for s in deffile.sections] == [4, 9, 13, 16]


def test_labels_split_on_first_blank_and_keep_empty_values() -> None:
    deffile = parse_def(DEFS / "labels_help.def")
    assert deffile.labels() == {
        "MAINTAINER": "Jane Doe",
        "description": "tab separated",
        "Empty": "",
    }
    help_text = deffile.stage().sections_named("help")[0].raw_body
    assert "100 % not a section" in help_text
    assert deffile.get("library") == "https://library.example.org"


def test_local_image_files_entries() -> None:
    deffile = parse_def(DEFS / "localimage.def")
    entries = [
        (e.src, e.dest, e.section_line, e.line, e.from_stage) for e in deffile.files_entries()
    ]
    assert entries == [
        ("docker.def", "/opt/recipes/docker.def", 5, 6, None),
        ("debootstrap.def", "/opt/recipes/with space/debootstrap.def", 5, 7, None),
        ("scratch*.def", "/opt/recipes/", 5, 9, None),
        ("localimage.def", None, 5, 10, None),
    ]
    assert deffile.get("fingerprints") == "12045C8C0B1004D058DE4BEDA20C27EE7FF7BA84"
    assert validate_files(deffile) == (
        DEFS / "docker.def",
        DEFS / "debootstrap.def",
        DEFS / "scratch.def",
        DEFS / "localimage.def",
    )


def test_scratch_and_busybox() -> None:
    scratch = parse_def(DEFS / "scratch.def")
    assert header_of(scratch) == [("Bootstrap", "scratch", 1)]
    assert [(s.name, s.line) for s in scratch.sections] == [
        ("setup", 3),
        ("files", 6),
        ("runscript", 9),
    ]
    busybox = parse_def(DEFS / "busybox.def")
    assert header_of(busybox)[0] == ("BootStrap", "busybox", 1)
    assert busybox.bootstrap == "busybox"


def test_multistage() -> None:
    deffile = parse_def(DEFS / "multistage.def")
    assert len(deffile.stages) == 2
    build, final = deffile.stages
    assert (build.name, build.line, build.from_) == ("build", 2, "golang:1.22-alpine")
    assert (final.name, final.line, final.from_) == ("final", 13, "alpine:3.19")
    assert header_of(deffile, 1) == [
        ("Bootstrap", "docker", 13),
        ("From", "alpine:3.19", 14),
        ("Stage", "final", 15),
    ]
    assert deffile.header == build.header and deffile.sections == build.sections
    assert sections_of(deffile) == [
        (0, "files", "", 6),
        (0, "post", "", 9),
        (1, "files", "from build", 17),
        (1, "runscript", "", 21),
    ]
    entries = [(e.src, e.line, e.from_stage, e.stage) for e in deffile.files_entries()]
    assert entries == [
        ("docker.def", 7, None, 0),
        ("/out/hello", 18, "build", 1),
        ("/src/docker.def", 19, "build", 1),
    ]
    # only the host file is checked; /out/hello lives in the build stage
    assert validate_files(deffile) == (DEFS / "docker.def",)
    assert deffile.stage("final") is final and deffile.stage(0) is build
    with pytest.raises(KeyError):
        deffile.stage("nope")


def test_scif_apps() -> None:
    deffile = parse_def(DEFS / "scif_apps.def")
    apps = [(s.name, s.app, s.line) for s in deffile.sections if s.app]
    assert apps == [
        ("appinstall", "cowsay", 7),
        ("apprun", "cowsay", 10),
        ("applabels", "cowsay", 13),
        ("appenv", "cowsay", 17),
        ("apphelp", "cowsay", 20),
        ("apptest", "cowsay", 23),
        ("appfiles", "cowsay", 26),
        ("appstart", "cowsay", 29),
        ("appinstall", "fortune", 32),
        ("apprun", "fortune", 35),
    ]
    assert deffile.sections[0].app is None
    [entry] = deffile.files_entries()
    assert (entry.src, entry.dest, entry.line, entry.app) == ("docker.def", None, 27, "cowsay")
    assert [s.line for s in deffile.stage().sections_named("apprun", app="fortune")] == [35]


def test_arguments_and_templates() -> None:
    deffile = parse_def(DEFS / "arguments.def")
    assert deffile.arguments == {
        "UBUNTU_VERSION": "22.04",
        "NUMPY_VERSION": "1.26.4",
        "PREFIX": "/opt/{{ UBUNTU_VERSION }}",
        "RECIPE": "docker",
    }
    assert deffile.from_ == "ubuntu:{{ UBUNTU_VERSION }}"
    refs = [(t.name, t.line) for t in deffile.templates()]
    # the commented {{ NOT_A_TEMPLATE }} and docker's {{.Id}} are not build args
    assert refs == [
        ("UBUNTU_VERSION", 2),
        ("UBUNTU_VERSION", 8),
        ("RECIPE", 11),
        ("RECIPE", 11),
        ("NUMPY_VERSION", 14),
        ("PREFIX", 16),
    ]
    [entry] = deffile.files_entries()
    assert (entry.src, entry.dest) == ("{{ RECIPE }}.def", "/opt/{{ RECIPE }}.def")
    assert validate_files(deffile) == (DEFS / "docker.def",)
    assert validate_files(deffile, build_args={"RECIPE": "busybox"}) == (DEFS / "busybox.def",)


def test_post_args_heredocs_and_repeated_sections() -> None:
    deffile = parse_def(DEFS / "post_shell.def")
    assert sections_of(deffile) == [
        (0, "post", "-c /bin/bash", 4),
        (0, "environment", "", 15),
        (0, "post", "", 18),
        (0, "environment", "", 22),
        (0, "startscript", "", 25),
    ]
    first_post = deffile.sections[0]
    assert (7, "    100% reproducible") in first_post.body_lines()
    assert (9, '    printf "%s\\n" "a %post line that is not a section"') in first_post.body_lines()
    assert [s.line for s in deffile.stage().sections_named("post")] == [4, 18]


def test_section_names_are_case_insensitive() -> None:
    deffile = parse_def_text("Bootstrap: docker\nFrom: alpine\n%POST\n  true\n%RunScript -c sh\n")
    assert [(s.name, s.args, s.raw_header) for s in deffile.sections] == [
        ("post", "", "%POST\n"),
        ("runscript", "-c sh", "%RunScript -c sh\n"),
    ]


def test_apptainer_comment_rule_for_templates() -> None:
    # apptainer skips a {{ }} once the line has a `#` followed by anything but `!`
    text = "Bootstrap: docker\n%post\n  echo {{ A }} # {{ B }}\n  echo #!{{ C }}\n  #{{ D }}\n"
    assert [(t.name, t.line) for t in parse_def_text(text).templates()] == [
        ("A", 3),
        ("C", 4),
        ("D", 5),
    ]


def test_nested_argument_default_is_expanded_in_files(tmp_path: Path) -> None:
    (tmp_path / "v2").mkdir()
    (tmp_path / "v2" / "data.txt").write_text("x")
    text = "Bootstrap: docker\n%arguments\n  V=2\n  DIR=v{{ V }}\n%files\n  {{ DIR }}/data.txt /d\n"
    deffile = parse_def_text(text, str(tmp_path / "x.def"))
    assert validate_files(deffile) == (tmp_path / "v2" / "data.txt",)


def test_parse_def_check_files_flag(tmp_path: Path) -> None:
    (tmp_path / "a.def").write_text("Bootstrap: docker\n%files\n  missing.txt\n")
    parse_def(tmp_path / "a.def")  # not checked without the flag
    with pytest.raises(DefFileError) as info:
        parse_def(tmp_path / "a.def", check_files=True)
    assert (info.value.line, info.value.path) == (3, str(tmp_path / "a.def"))


def test_validate_files_absolute_sources_and_base_dir(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "in.csv").write_text("1")
    text = f"Bootstrap: docker\n%files\n  {data / 'in.csv'} /in.csv\n  in.csv /again.csv\n"
    deffile = parse_def_text(text, "/nonexistent/dir/x.def")
    assert validate_files(deffile, base_dir=data) == (data / "in.csv", data / "in.csv")
    with pytest.raises(DefFileError) as info:
        validate_files(deffile)
    assert info.value.line == 4
    assert "/nonexistent/dir/in.csv" in str(info.value)


def test_glob_in_a_directory_whose_name_has_glob_characters(tmp_path: Path) -> None:
    odd = tmp_path / "run[1]"
    odd.mkdir()
    (odd / "a.txt").write_text("a")
    (odd / "b.txt").write_text("b")
    deffile = parse_def_text("Bootstrap: docker\n%files\n  *.txt /opt/\n", str(odd / "x.def"))
    assert validate_files(deffile) == (odd / "a.txt", odd / "b.txt")


# -- errors -----------------------------------------------------------------------

ERRORS = {
    "empty": ("", 1, "no `Bootstrap:` header"),
    "comments only": ("# just a comment\n\n", 1, "no `Bootstrap:` header"),
    "section first": ("# c\n%post\n  true\n", 2, "before `%post`"),
    "other key first": ("From: alpine\nBootstrap: docker\n", 1, "not `From`"),
    "not key value": ("Bootstrap: docker\nFrom alpine\n", 2, "not `Key: value`"),
    "empty key": ("Bootstrap: docker\n: alpine\n", 2, "not `Key: value`"),
    "unknown keyword": ("Bootstrap: docker\nFrum: alpine\n", 2, "unknown header keyword `Frum`"),
    "empty bootstrap": ("Bootstrap:   # nothing\n", 1, "has no value"),
    "second bootstrap": ("Bootstrap: docker\n  Bootstrap: oras\n", 2, "second `Bootstrap:`"),
    "unknown section": ("Bootstrap: docker\n\n%post\n  true\n%foo\n", 5, "unknown section `%foo`"),
    "lone percent": ("Bootstrap: docker\n%post\n%\n", 3, "unknown section `%`"),
    "app without name": (
        "Bootstrap: docker\n%appinstall\n  make\n",
        2,
        "`%appinstall` needs an app name",
    ),
    "applabels without name": ("Bootstrap: docker\n%applabels   \n", 2, "needs an app name"),
    "indented percent": (
        "Bootstrap: docker\n%post\n  cat <<EOF\n  %s is fine in printf\nEOF\n",
        4,
        "indented `%s`",
    ),
    "tab-indented section": ("Bootstrap: docker\n%post\n\t%environment\n", 3, "indented"),
    "percent in column 0 of a heredoc": (
        "Bootstrap: docker\n%post\n  cat <<EOF\n%d items\nEOF\n",
        4,
        "unknown section `%d`",
    ),
    "buildkit header 1.4.5 refuses": ("Bootstrap: docker\nTarget: t\n", 2, "`Target`"),
    "continued empty From": ("Bootstrap: docker\nFrom: \\\n  x\n", 3, "not `Key: value`"),
    "unterminated template": ("Bootstrap: docker\nFrom: alpine:{{ TAG }\n", 2, "`{{ TAG }`"),
    "open template at end of line": ("Bootstrap: docker\n%post\n  echo {{ TAG\n", 3, "`{{ TAG`"),
    "error in second stage": (
        "Bootstrap: docker\n%post\n  true\n\nBootstrap: docker\nFrom: x\n%psot\n",
        7,
        "unknown section `%psot`",
    ),
    "crlf line numbers": ("Bootstrap: docker\r\n\r\n%post\r\n%runscirpt\r\n", 4, "`%runscirpt`"),
}


@pytest.mark.parametrize("case", ERRORS, ids=list(ERRORS))
def test_errors_name_file_and_line(case: str) -> None:
    text, line, fragment = ERRORS[case]
    with pytest.raises(DefFileError) as info:
        parse_def_text(text, "recipes/bad.def")
    err = info.value
    assert (err.path, err.line) == ("recipes/bad.def", line)
    assert str(err).startswith(f"recipes/bad.def:{line}: ")
    assert fragment in str(err)
    assert "\n" not in str(err)
    assert isinstance(err, BadInputError) and err.exit_code == 2


def test_error_from_a_file_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "bad.def"
    path.write_bytes(b"Bootstrap: docker\r\nFrom: alpine\r\n%post\r\n  ok\r\n%lables\r\n")
    with pytest.raises(DefFileError, match=r"bad\.def:5: unknown section `%lables`"):
        parse_def(path)


def test_missing_def_file(tmp_path: Path) -> None:
    from scitex_container.errors import NotFoundError

    with pytest.raises(NotFoundError, match=r"nope\.def: does not exist"):  # the one path error
        parse_def(tmp_path / "nope.def")


def test_file_check_errors(tmp_path: Path) -> None:
    (tmp_path / "present.txt").write_text("x")
    text = (
        "Bootstrap: docker\n"
        "Stage: build\n"
        "%files\n"
        "  present.txt /a\n"
        "Bootstrap: docker\n"
        "%files from build\n"
        "  /not/on/the/host /b\n"
        "%files\n"
        "  present.txt\n"
        "  *.csv /data/\n"
    )
    deffile = parse_def_text(text, str(tmp_path / "x.def"))
    with pytest.raises(DefFileError) as info:
        validate_files(deffile)
    assert info.value.line == 10
    assert "`*.csv` matches nothing" in str(info.value)
    (tmp_path / "t.csv").write_text("1")
    assert validate_files(deffile) == (
        tmp_path / "present.txt",
        tmp_path / "present.txt",
        tmp_path / "t.csv",
    )
    missing = parse_def_text(
        "Bootstrap: docker\n\n%files\n  gone.txt /x\n", str(tmp_path / "y.def")
    )
    with pytest.raises(DefFileError, match=r"y\.def:4: `%files` source `gone.txt` does not exist"):
        validate_files(missing)
    appfiles = parse_def_text("Bootstrap: docker\n%appfiles foo\n  gone\n", str(tmp_path / "z.def"))
    with pytest.raises(DefFileError, match=r"z\.def:3:"):
        validate_files(appfiles)


def test_unset_build_arg_in_files_source(tmp_path: Path) -> None:
    deffile = parse_def_text("Bootstrap: docker\n%files\n  {{ SRC }} /x\n", str(tmp_path / "a.def"))
    with pytest.raises(DefFileError, match=r"a\.def:3: build argument `SRC` has no value"):
        validate_files(deffile)
    (tmp_path / "given").write_text("")
    assert validate_files(deffile, build_args={"SRC": "given"}) == (tmp_path / "given",)


def test_things_apptainer_accepts_are_not_errors() -> None:
    text = (
        "Bootstrap: some-future-agent\n"
        "From: x\n"
        "OtherURL12: https://example.org\n"
        "%post\n"
        "  docker inspect --format '{{.Id}}' c\n"
        "  echo {{ }} {{a,b} # {{ A } is in a comment, so it is no template\n"
        "  echo 100% done; printf '%s' x\n"
        "%files\n"
        "  a.txt /a.txt # trailing comment\n"
    )
    deffile = parse_def_text(text)
    assert deffile.bootstrap == "some-future-agent"
    assert [(e.src, e.dest) for e in deffile.files_entries()] == [("a.txt", "/a.txt")]


# -- edits -------------------------------------------------------------------------

SIMPLE = """\
Bootstrap: docker
From: ubuntu:22.04

%post
    apt-get update

%environment
    export A=1
"""


def test_generated_block_goes_at_the_end_of_post() -> None:
    deffile = parse_def_text(SIMPLE, "simple.def")
    edited = deffile.set_generated_block(TAG, "pip install numpy==1.26.4\n")
    assert edited.emit() == SIMPLE.replace(
        "    apt-get update\n",
        "    apt-get update\n"
        "# >>> scitex-container pins >>>\n"
        "pip install numpy==1.26.4\n"
        "# <<< scitex-container pins <<<\n",
    )
    assert edited.path == "simple.def"
    assert edited.generated_block(TAG) == "pip install numpy==1.26.4\n"
    assert deffile.generated_block(TAG) is None
    # the edited model is a fresh parse: line numbers follow the new text
    assert [s.line for s in edited.sections] == [4, 10]


def test_generated_block_is_idempotent_and_replaced_not_stacked() -> None:
    deffile = parse_def_text(SIMPLE)
    once = deffile.set_generated_block(TAG, "a\nb\n")
    assert once.set_generated_block(TAG, "a\nb\n") == once
    assert once.set_generated_block(TAG, "a\nb") == once  # a final newline is optional
    changed = once.set_generated_block(TAG, "c\n")
    assert changed == deffile.set_generated_block(TAG, "c\n")
    assert changed.emit().count("# >>> scitex-container pins >>>") == 1
    assert changed.remove_generated_block(TAG) == deffile
    assert deffile.remove_generated_block(TAG) == deffile


def test_generated_block_creates_post_when_absent() -> None:
    deffile = parse_def(DEFS / "docker.def")
    edited = deffile.set_generated_block(TAG, "echo pinned\n")
    original = (DEFS / "docker.def").read_text()
    assert edited.emit() == original.replace(
        "print(analysis.__version__)'\n",
        "print(analysis.__version__)'\n"
        "\n"
        "%post\n"
        "# >>> scitex-container pins >>>\n"
        "echo pinned\n"
        "# <<< scitex-container pins <<<\n",
    )
    assert edited.set_generated_block(TAG, "echo pinned\n") == edited


def test_generated_block_targets_the_last_post_of_the_last_stage() -> None:
    deffile = parse_def(DEFS / "post_shell.def")
    edited = deffile.set_generated_block(TAG, "true\n")
    lines = edited.emit().splitlines()
    assert lines[19:23] == [
        "    echo done >> /build-date",
        "# >>> scitex-container pins >>>",
        "true",
        "# <<< scitex-container pins <<<",
    ]
    multi = parse_def(DEFS / "multistage.def")
    final = multi.set_generated_block(TAG, "true\n")
    assert final.stages[0] == multi.stages[0]  # the build stage is untouched
    assert [s.name for s in final.stages[1].sections] == ["files", "runscript", "post"]
    build = multi.set_generated_block(TAG, "true\n", stage="build")
    assert build.stages[1].raw == multi.stages[1].raw
    assert build.generated_block(TAG, stage=0) == "true\n"
    assert build.generated_block(TAG) is None


def test_block_moved_by_hand_is_replaced_where_it_is() -> None:
    text = "Bootstrap: docker\n%post\n  one\n# >>> t >>>\nold\n# <<< t <<<\n  two\n%post\n  three\n"
    edited = parse_def_text(text).set_generated_block("t", "new\n")
    assert edited.emit() == text.replace("old", "new")


def test_generated_block_in_crlf_file_uses_crlf() -> None:
    deffile = parse_def(DEFS / "crlf.def")
    edited = deffile.set_generated_block(TAG, "echo a\necho b\n")
    data = edited.to_bytes()
    assert b"    apk add --no-cache bash\r\n# >>> scitex-container pins >>>\r\necho a\r\n" in data
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert edited.set_generated_block(TAG, "echo a\r\necho b\r\n") == edited


def test_generated_block_at_end_of_file_without_newline() -> None:
    text = "Bootstrap: docker\n%post\n  echo hi"
    once = parse_def_text(text).set_generated_block(TAG, "x\n")
    assert once.emit() == (
        "Bootstrap: docker\n%post\n  echo hi\n"
        "# >>> scitex-container pins >>>\nx\n# <<< scitex-container pins <<<"
    )
    assert once.set_generated_block(TAG, "x\n") == once
    assert (
        once.set_generated_block(TAG, "y\n").emit().endswith("y\n# <<< scitex-container pins <<<")
    )


def test_generated_block_for_an_app_section() -> None:
    deffile = parse_def(DEFS / "scif_apps.def")
    edited = deffile.set_generated_block(
        TAG, "pip install x\n", section="appinstall", app="fortune"
    )
    fortune = edited.stage().sections_named("appinstall", app="fortune")[0]
    assert "# >>> scitex-container pins >>>\npip install x\n" in fortune.raw_body
    new_app = deffile.set_generated_block(TAG, "true\n", section="appinstall", app="new")
    assert new_app.sections[-1].raw_header == "%appinstall new\n"
    with pytest.raises(ValueError, match="needs an app name"):
        deffile.set_generated_block(TAG, "x", section="appinstall")
    with pytest.raises(ValueError, match="takes no app name"):
        deffile.set_generated_block(TAG, "x", app="fortune")


@pytest.mark.parametrize("path", ALL_DEFS, ids=lambda p: p.name)
def test_generated_block_leaves_every_fixture_intact(path: Path) -> None:
    deffile = parse_def(path)
    once = deffile.set_generated_block(TAG, "echo one\necho two\n")
    assert once.set_generated_block(TAG, "echo one\necho two\n") == once
    assert once.generated_block(TAG) == "echo one\necho two\n"
    restored = once.remove_generated_block(TAG).emit()
    original = deffile.emit()
    if not original.endswith("\n") and once.emit().endswith("<<<"):
        original += "\n"  # the old last line had to get an ending before the block
    post = deffile.stage().sections_named("post")
    if post:
        assert restored == original
    else:  # a new %post was added at the end: only its bare header is left over
        head, header, tail = restored.rpartition("\n%post\n")
        assert header and head + tail == original


def test_bad_blocks_are_refused() -> None:
    deffile = parse_def_text(SIMPLE, "s.def")
    for body in (
        "%files\n",
        "  %post\n",
        "Bootstrap: docker\n",
        "# >>> scitex-container pins >>>\n",
    ):
        with pytest.raises(ValueError):
            deffile.set_generated_block(TAG, body)
    for tag in ("", "two\nlines"):
        with pytest.raises(ValueError):
            deffile.set_generated_block(tag, "x")
    with pytest.raises(ValueError, match="unknown section"):
        deffile.set_generated_block(TAG, "x", section="postt")
    unterminated = parse_def_text("Bootstrap: docker\n%post\n# >>> t >>>\n  x\n", "u.def")
    with pytest.raises(DefFileError, match=r"u\.def:3: .*has no `# <<< t <<<`"):
        unterminated.set_generated_block("t", "y")
    twice = parse_def_text(
        "Bootstrap: docker\n%post\n# >>> t >>>\n# <<< t <<<\n%post\n# >>> t >>>\n# <<< t <<<\n",
        "d.def",
    )
    with pytest.raises(DefFileError, match=r"d\.def:6: .*appears 2 times"):
        twice.set_generated_block("t", "y")


def test_with_section_appended() -> None:
    deffile = parse_def_text(SIMPLE)
    edited = deffile.with_section_appended("labels", "    Pinned yes\n")
    assert edited.emit() == SIMPLE + "\n%labels\n    Pinned yes\n"
    assert edited.labels() == {"Pinned": "yes"}
    run = deffile.with_section_appended("%runscript", "exec sh", args="-c /bin/bash")
    assert run.sections[-1].raw == "%runscript -c /bin/bash\nexec sh\n"
    multi = parse_def(DEFS / "multistage.def")
    copied = multi.with_section_appended("files", "  /out/extra /extra\n", args="from build")
    assert copied.files_entries()[-1].from_stage == "build"
    assert copied.stages[0] == multi.stages[0]
    # apptainer's parser takes any stage name; its build (and our def checks) refuse it
    later = multi.with_section_appended("files", "/a\n", args="from nowhere")
    with pytest.raises(DefFileError, match="no stage has `Stage: nowhere`"):
        validate_files(later)
    with pytest.raises(ValueError, match="unknown section"):
        deffile.with_section_appended("nope", "")
    with pytest.raises(ValueError, match="needs an app name"):
        deffile.with_section_appended("apprun", "x")


def test_edits_do_not_touch_the_original(tmp_path: Path) -> None:
    shutil.copy(DEFS / "debootstrap.def", tmp_path / "d.def")
    deffile = parse_def(tmp_path / "d.def")
    before = deffile.emit()
    deffile.set_generated_block(TAG, "x\n")
    deffile.with_section_appended("test", "true\n")
    assert deffile.emit() == before == (tmp_path / "d.def").read_text()


#: ``%files`` arguments apptainer's parser accepts and its build ignores or refuses:
#: our parser accepts them too; the def checks (run before every build) refuse them.
FILES_ARGS = {
    "files three fields": ("Bootstrap: docker\n%files\n  my file.txt /opt/\n", 3, "3 fields"),
    "files from unknown stage": (
        "Bootstrap: docker\nStage: one\n%post\nBootstrap: docker\n%files from two\n  /a /b\n",
        5,
        "no stage has `Stage: two`",
    ),
}


@pytest.mark.parametrize("case", sorted(FILES_ARGS))
def test_files_args_parse_as_apptainer_and_fail_the_checks(case: str) -> None:
    text, line, fragment = FILES_ARGS[case]
    deffile = parse_def_text(text, "recipes/odd.def")
    with pytest.raises(DefFileError) as info:
        validate_files(deffile)
    assert info.value.line == line and fragment in str(info.value)


def test_files_from_any_stage_name_apptainer_allows() -> None:
    text = (
        "Bootstrap: docker\nFrom: a\nStage: my-build.2\n%post\n  true\n"
        "Bootstrap: docker\nFrom: b\n%files from my-build.2 # copy the tools\n  /opt/t\n"
        "%files from later\n  /x /y\n"
        "Bootstrap: docker\nFrom: c\nStage: later\n"
    )
    deffile = parse_def_text(text)
    assert [e.from_stage for e in deffile.files_entries()] == ["my-build.2", "later"]
    assert validate_files(deffile) == ()


def test_arguments_lines_without_equals_are_skipped_as_apptainer_does() -> None:
    text = "Bootstrap: docker\n%arguments\n  A=1\n  B\n  =1\n"
    assert parse_def_text(text).stage(-1).arguments == {"A": "1"}
