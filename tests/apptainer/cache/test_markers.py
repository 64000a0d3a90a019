"""Checkpoint markers: where they act, where they are refused (file:line), the stages made."""

from __future__ import annotations

import pytest

from scitex_container.apptainer.cache import shellstate
from scitex_container.apptainer.cache.markers import checkpoint_lines, is_marker
from scitex_container.apptainer.cache.stages import may_reach_network, plan_stages
from scitex_container.apptainer.deffile import parse_def_text
from scitex_container.errors import DefFileError

HEAD = "Bootstrap: localimage\nFrom: base.sif\n\n"
MARK = "    # scitex: checkpoint\n"


def plan(body: str):
    return plan_stages(parse_def_text(HEAD + body, "r.def"))


def test_markers_cut_post_into_stages_after_the_bootstrap() -> None:
    p = plan(
        "%files\n    a /a\n%post\n    echo 1\n" + MARK + "    echo 2\n%runscript\n    echo r\n"
    )
    assert [s.name for s in p.stages] == ["bootstrap", "post-1", "post-2", "final"]
    assert "%files" in p.stages[1].body and "echo 1" in p.stages[1].body
    assert "echo 2" in p.stages[2].body and "%files" not in p.stages[2].body
    assert not any(is_marker(line) for line in (p.stages[1].body + p.stages[2].body).split("\n"))
    # the shell-state check: post-1 snapshots and compares, post-2 only looks for the marker
    assert shellstate.epilogue() in p.stages[1].body
    assert p.stages[2].body.endswith("    echo 2\n") and shellstate.MARKER in p.stages[2].body
    assert (p.stages[1].checkpoint, p.stages[2].checkpoint) == (8, None)
    assert p.stages[3].body.startswith("%runscript")
    assert p.uncacheable is None


def test_a_marker_between_commands_is_accepted_at_its_line() -> None:
    text = HEAD + "%post\n    if true; then echo a; fi\n" + MARK + "    cat <<EOF\nx\nEOF\n" + MARK
    assert checkpoint_lines(parse_def_text(text, "r.def")) == (6, 10)


@pytest.mark.parametrize(
    ("body", "why", "line"),
    [
        ("%environment\n" + MARK, "checkpoints act only in %post", 5),
        ("%post\n    cat <<'EOF' > /f\n" + MARK + "EOF\n", "here-document", 6),
        ("%post\n    cat <<-END\n" + MARK + "\tEND\n", "here-document", 6),
        ("%post\n    if true; then\n" + MARK + "    echo\n    fi\n", "shell block", 6),
        ("%post\n    for x in 1 2; do\n" + MARK + "    echo\n    done\n", "shell block", 6),
        ("%post\n    (\n" + MARK + "    echo\n    )\n", "shell block", 6),
        ("%post\n    {\n" + MARK + "    echo\n    }\n", "shell block", 6),
        ("%post\n    case x in\n    x) echo;;\n" + MARK + "    esac\n", "shell block", 7),
        ("%post\n    echo 'a\n" + MARK + "    b'\n", "quoted string", 6),
        ("%post\n    apt-get install \\\n" + MARK + "    hello\n", "continued", 6),
        # the hostile tester's cases: each was accepted by the old scanner
        ("%post\n    cat <<\\true >/f\n" + MARK + "    echo x\ntrue\n", "here-document", 6),
        ("%post\n    cat <<\\EOF >/f\n" + MARK + "EOF\n", "here-document", 6),
        ("%post\n    cat <<'EOF.txt' >/f\n" + MARK + "EOF.txt\n", "here-document", 6),
        ("%post\n    cat <<'1EOF' >/f\n" + MARK + "1EOF\n", "here-document", 6),
        ("%post\n    x=`echo a\n" + MARK + "    echo b`\n", "substitution", 6),
        ("%post\n    echo done; if true; then\n" + MARK + "    echo\n    fi\n", "block", 6),
        ("%post\n    echo fi; if true; then\n" + MARK + "    echo\n    fi\n", "block", 6),
        ("%post\n    f(){\n" + MARK + "    echo\n    }\n", "block", 6),
        # a piece ending in `&&`, `||` or `|`: the shells' own parse refuses it
        ("%post\n    true &&\n" + MARK + "    echo\n", "continued line.*end of file", 6),
        ("%post\n    echo |\n" + MARK + "    cat\n", "continued line.*end of file", 6),
        ("%post\n    false ||\n" + MARK + "    echo\n", "continued line.*end of file", 6),
        ("%post\n    echo a \\\\\\\n" + MARK + "    b\n", "continued with", 6),
        ("%post\n    echo a\n" + MARK + "    if x; then\n", "not a complete shell", 6),
    ],
)
def test_a_marker_that_cannot_act_is_refused_with_its_line(body: str, why: str, line: int) -> None:
    with pytest.raises(DefFileError, match=why) as info:
        plan(body)
    assert info.value.exit_code == 2
    assert f"r.def:{line}" in str(info.value)


def test_a_def_the_cache_cannot_split_is_built_cold_with_the_reason() -> None:
    assert "%setup" in (plan("%setup\n    true\n%post\n    true\n").uncacheable or "")
    two = "Bootstrap: localimage\nFrom: a.sif\n%post\n    true\n\n" + HEAD.replace("base", "b")
    why = plan_stages(parse_def_text(two, "r.def")).uncacheable or ""
    assert why == "multi-stage defs build cold"


@pytest.mark.parametrize(
    ("text", "network"),
    [
        ("apt-get install -y hello", True),
        ("pip install numpy", True),
        ("pip3 install --no-index --find-links /w \\\n    demo", False),
        ("curl -o x https://example.org/x", True),
        ("echo hi > /x  # no apt here", False),
        ("mkdir -p /opt/digits /opt/pipeline", False),
        ("for i in 1 2; do echo $i > /f$i; done", False),
        # the tester's misses: every command not known to be offline counts as network
        ("uv pip install numpy", True),
        ("poetry install", True),
        ("pipx install black", True),
        ("mvn package", True),
        ("gradle build", True),
        ("nix-env -iA nixpkgs.hello", True),
        ("julia -e 'using Pkg; Pkg.add(\"X\")'", True),
        ("pixi install", True),
        ("opam install dune", True),
        ("cabal install", True),
        ("luarocks install x", True),
        ("pip install x && echo --no-index", True),
        ("bash /opt/setup.sh", True),
    ],
)
def test_network_detection_errs_towards_yes(text: str, network: bool) -> None:
    assert may_reach_network(text) is network


@pytest.mark.parametrize(
    "line",
    [
        "echo a \\|",  # an escaped `|` is a word, not a pipe
        "echo a  # x ||",  # in a comment
        "echo a  # x \\",  # a backslash in a comment continues nothing
        "echo a \\\\",  # an even number of backslashes: an escaped one
    ],
)
def test_a_line_that_only_looks_continued_is_accepted(line: str) -> None:
    text = HEAD + "%post\n    " + line + "\n" + MARK + "    echo b\n"
    assert checkpoint_lines(parse_def_text(text, "r.def")) == (6,)


def test_a_blank_line_after_a_backslash_ends_the_command() -> None:
    text = HEAD + "%post\n    echo a \\\n\n" + MARK + "    echo b\n"
    assert checkpoint_lines(parse_def_text(text, "r.def")) == (7,)


@pytest.mark.parametrize(
    "args",
    [
        "-c /bin/sh",
        "-c /bin/bash",
        "-c /bin/dash",
        "-c /bin/busybox sh",
        "-c /usr/bin/env bash",
        "-c /usr/bin/env -S bash",
    ],
)
def test_checkpoints_are_accepted_under_the_shells_the_check_reads(args: str) -> None:
    text = HEAD + f"%post {args}\n    echo a\n" + MARK + "    echo b\n"
    assert checkpoint_lines(parse_def_text(text, "r.def")) == (6,)


@pytest.mark.parametrize(
    "args",
    ["-c /bin/ksh", "-c /bin/mksh", "-c /bin/zsh", "-c /usr/bin/env zsh", "-c /usr/bin/python3"],
)
def test_checkpoints_under_another_interpreter_are_refused_with_the_line(args: str) -> None:
    text = HEAD + f"%post {args}\n    echo a\n" + MARK + "    echo b\n"
    with pytest.raises(DefFileError, match="supported under sh, bash, dash and busybox sh") as e:
        checkpoint_lines(parse_def_text(text, "r.def"))
    assert e.value.exit_code == 2 and "r.def:6" in str(e.value)
