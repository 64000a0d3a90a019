"""The one %files resolver reads a line as apptainer does (split, trim, shell word)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scitex_container.apptainer.deffile import parse_def_text
from scitex_container.apptainer.deffile.sources import expand, host_sources, rebase_line
from scitex_container.errors import BadInputError


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    for rel in ("a.txt", "b.txt", "file 1", "d/e/x.py", "d/y.py", "it's"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(rel)
    return tmp_path


@pytest.mark.parametrize(
    ("src", "words", "globbed"),
    [
        ("*.txt", ["a.txt", "b.txt"], True),
        ("{a,b}.txt", ["a.txt", "b.txt"], False),
        # apptainer 1.4.5 has no globstar: a real build copied data/sub/s.txt for
        # `data/**/*.txt`, and neither data/a.txt nor data/sub/deep/x.txt
        ("d/**/*.py", ["d/e/x.py"], True),
        ("file 1", ["file 1"], False),  # apptainer escapes the space
        ("'*.txt'", ["*.txt"], False),  # quoted: no glob
        ('"it\'s"', ["it's"], False),
        ("nothing*", ["nothing*"], True),  # no match: the pattern as written
        ("a\\*.txt", ["a*.txt"], False),
    ],
)
def test_expand_as_a_shell_word(tree: Path, src, words, globbed):
    assert expand(src, tree) == (words, globbed)


def test_a_variable_expands_from_the_builds_environment(tree: Path):
    # apptainer 1.4 (mvdan.cc/sh, no Env given) reads the process environment:
    # `$HOME/x` copied /root/x in a real build as root; an unset name is empty
    env = {"HOME": "/home/u", "REL": "d/e"}
    assert expand("$HOME/a.txt", tree, env) == (["/home/u/a.txt"], False)
    assert expand('"${REL}"/*.py', tree, env) == (["d/e/x.py"], True)
    assert expand("$UNSET/a.txt", tree, env) == (["/a.txt"], False)


def test_a_leading_tilde_is_the_builds_home(tree: Path):
    # a real build copied ~/f from $HOME (`INFO: Copying ~/gs-tilde.txt to /opt/tl`)
    env = {"HOME": "/home/u"}
    assert expand("~/a.txt", tree, env) == (["/home/u/a.txt"], False)
    assert expand("'~'/a.txt", tree, env) == (["~/a.txt"], False)  # quoted: literal
    assert rebase_line("~/a.txt /x", "/r", {}) is None  # absolute: left as written


def test_a_variables_default_and_alternative_expand_as_the_shell_does(tree: Path):
    # mvdan.cc/sh expands `${X:-/etc/passwd}` to the default: the checks must see it
    env = {"HOME": "/home/u", "EMPTY": ""}
    assert expand("${NOPE:-/etc/passwd}", tree, env) == (["/etc/passwd"], False)
    assert expand("${EMPTY:-/d}", tree, env) == (["/d"], False)
    assert expand("${EMPTY-/d}/a", tree, env) == (["/a"], False)  # set (empty): no default
    assert expand("${HOME:+/alt}/a", tree, env) == (["/alt/a"], False)
    assert expand('"${NOPE:-$HOME}"/a', tree, env) == (["/home/u/a"], False)


def test_tilde_user_is_that_users_home(tree: Path):
    import pwd

    root_home = pwd.getpwnam("root").pw_dir
    assert expand("~root/a", tree, {}) == ([f"{root_home}/a"], False)
    assert expand("~scx-no-such-user/a", tree, {}) == (["~scx-no-such-user/a"], False)


@pytest.mark.parametrize(
    ("line", "values"),
    [
        ("{{ SRC }} /opt/t/", {"SRC": '"file 1"'}),  # apptainer keeps the quotes
        ("{{ SRC }} /opt/t/", {"SRC": "/abs/a.txt"}),
        ("{{ SRC }}", {"SRC": "a.txt"}),  # its destination would not follow a build arg
        ("d/{{ SRC }} /x", {}),
        ('"data"/a.txt /opt/q3/', {}),  # apptainer: source `data`, destination `/a.txt`
        ('data/"a".txt /opt/q1/', {}),
        ('a.txt"" /opt/q4/', {}),
    ],
)
def test_a_source_no_rewrite_keeps_is_refused(line: str, values: dict[str, str]):
    with pytest.raises(BadInputError, match="beside the rough def"):
        rebase_line(line, "/r", values)


def test_an_unterminated_quote_is_refused(tree: Path):
    with pytest.raises(BadInputError, match="unterminated"):
        expand("'a.txt", tree)  # apptainer splits `'a.txt' /x` into `'a.txt`, `'`, `/x`


def test_host_sources_skip_stage_copies_and_ignored_sections(tree: Path):
    text = (
        "Bootstrap: docker\nFrom: x\nStage: one\n"
        "Bootstrap: docker\nFrom: y\n%files from one\n    /x /y\n"
        "%files not from here\n    a.txt /z\n%files\n    *.txt /opt/\n"
    )
    deffile = parse_def_text(text, str(tree / "x.def"))
    found = host_sources(deffile)
    assert [(s.src, s.paths) for s in found] == [("*.txt", (tree / "a.txt", tree / "b.txt"))]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("*.txt /opt/", "/r/*.txt /opt/"),
        ('"file 1" /opt/f', '"/r/file 1" /opt/f'),
        ("a.txt", "/r/a.txt /a.txt"),  # no destination: the one apptainer gave it
        ("*.txt", "/r/*.txt /"),
        ("d/*.py", "/r/d/*.py /d/"),  # one match today; the glob's directory, not that file
        ("{a,b}.txt", "/r/{a,b}.txt /"),
        ("$HOME/a.txt /x", None),  # absolute through the build's $HOME: as written
        ("/abs/a /x", None),
        ("# comment", None),
    ],
)
def test_rebase_keeps_the_sources_spelling(tree: Path, line, expected):
    new = rebase_line(line, "/r", {})
    if expected is None:
        assert new is None
    else:
        # the implicit destination is computed against the rough def's directory
        assert rebase_line(line, str(tree), {}) == expected.replace("/r", str(tree), 1)


@pytest.mark.parametrize("line", ["*/x.py", "d/**/x.py", "{d,d/e}/x.py"])
def test_a_destinationless_source_that_spans_directories_is_not_rebased(line: str):
    with pytest.raises(BadInputError, match="several directories"):
        rebase_line(line, "/r", {})


def test_rebase_escapes_the_directory(tree: Path):
    assert rebase_line("a.txt /x", "/a dir/$x1", {}) == '"/a dir/\\$x1/a.txt" /x'


@pytest.mark.parametrize("directory", ["/d/x[1]", "/d/st*r", "/d/q?", "/d/b{x,y}"])
def test_a_directory_apptainer_would_glob_cannot_be_put_in_front(directory: str):
    with pytest.raises(BadInputError, match="glob or brace"):
        rebase_line("a.txt /x", directory, {})


def test_an_unquoted_variable_is_split_and_globbed_as_apptainer_does(tree: Path):
    # apptainer 1.4.5 with W='data/a.txt data/b.txt': `x$W` copied [xdata/a.txt data/b.txt]
    env = {"W": "a.txt b.txt", "V": "*.txt"}
    assert expand("$W", tree, env) == (["a.txt", "b.txt"], False)
    assert expand("x$W", tree, env) == (["xa.txt", "b.txt"], False)
    assert expand("$V", tree, env) == (["a.txt", "b.txt"], True)
    assert expand('"$W"', tree, env) == (["a.txt b.txt"], False)  # quoted: one word
    assert expand('"$V"', tree, env) == (["*.txt"], False)


def test_a_variable_of_several_words_is_not_rebased(monkeypatch):
    monkeypatch.setenv("SCITEX_TEST_W", "a.txt b.txt")
    with pytest.raises(BadInputError, match="several words"):
        rebase_line("$SCITEX_TEST_W /opt/w/", "/r", {})
    monkeypatch.setenv("SCITEX_TEST_W", "d/*.py")  # one word: the prefix keeps the glob
    assert rebase_line("$SCITEX_TEST_W /opt/w/", "/r", {}) == "/r/$SCITEX_TEST_W /opt/w/"
