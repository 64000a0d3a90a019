"""Property tests of the def-file model on generated def files."""

from __future__ import annotations

import re
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scitex_container.apptainer.deffile import DefFile, parse_def_text

TAG = "scitex-container pins"
# Go's unicode.IsSpace: apptainer takes a line's first word after these
GO_SPACE = "\t\v\f\r \x85\xa0\u1680\u2000\u2001\u200a\u2028\u2029\u202f\u205f\u3000"
FIRST_WORD_IS_PERCENT = re.compile(f"[{GO_SPACE}]*%")

PLAIN_SECTIONS = [
    "setup",
    "post",
    "environment",
    "runscript",
    "startscript",
    "test",
    "labels",
    "help",
]
APP_SECTIONS = ["appinstall", "apprun", "applabels", "appenv", "apphelp", "apptest", "appstart"]
HEADER_KEYS = ["From", "OSVersion", "MirrorURL", "Include", "Registry", "Namespace", "Library"]
AGENTS = ["docker", "debootstrap", "localimage", "scratch", "busybox", "oras", "library", "yum"]

settings.register_profile("deffile", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("deffile")


@dataclass
class Expected:
    """What the generated text should parse into."""

    text: str
    headers: list[list[tuple[str, str, int]]]  # per stage: (key, value, line)
    sections: list[tuple[int, str, str, int, list[str]]]  # stage, name, args, line, body


def case_variants(word: str) -> st.SearchStrategy[str]:
    return st.sampled_from([word, word.lower(), word.upper(), word.capitalize()])


body_line = st.one_of(
    st.sampled_from(
        [
            "",
            "   ",
            "\t",
            "  100% done",
            "printf '%s\\n' x",
            "cat <<'EOF'",
            "EOF",
            "\t# a comment with %post in it",
            "echo {{ VERSION }}",
            "docker inspect --format '{{.Id}}' c",
            "  bootstrap: is fine when indented",
            "x\x0by\x0cz\x1cw\u2028v",
        ]
    ),
    st.text(st.characters(exclude_characters="\n\r", exclude_categories=["Cs"]), max_size=30),
).filter(
    lambda line: (
        not FIRST_WORD_IS_PERCENT.match(line)
        and not line.lower().startswith("bootstrap:")
        and ("{{" not in line or line.startswith(("echo {{", "docker")))
    )
)
header_value = st.from_regex(r"[A-Za-z0-9_./:@%{}=+-]+( [A-Za-z0-9_./:@%=+-]+)*", fullmatch=True)
blank_or_comment = st.sampled_from(["", "  ", "# comment", "\t# indented comment", "#"])


@st.composite
def deffiles(draw: st.DrawFn) -> Expected:
    newline = draw(st.sampled_from(["\n", "\r\n", "mixed"]))
    lines: list[str] = []
    headers: list[list[tuple[str, str, int]]] = []
    sections: list[tuple[int, str, str, int, list[str]]] = []

    def add(text: str) -> int:
        ending = draw(st.sampled_from(["\n", "\r\n"])) if newline == "mixed" else newline
        lines.append(text + ending)
        return len(lines)

    for _ in range(draw(st.integers(0, 2))):
        add(draw(blank_or_comment))
    for stage in range(draw(st.integers(1, 3))):
        agent = draw(st.sampled_from(AGENTS))
        key = draw(case_variants("Bootstrap"))
        header = [
            (key, agent, add(f"{key}:{draw(st.sampled_from([' ', '', '  ', chr(9)]))}{agent}"))
        ]
        for _ in range(draw(st.integers(0, 4))):
            if draw(st.booleans()):
                add(draw(blank_or_comment))
            key = draw(st.sampled_from(HEADER_KEYS).flatmap(case_variants))
            value = draw(header_value)
            indent, before, after = draw(st.tuples(*[st.sampled_from(["", " ", "\t"])] * 3))
            comment = draw(st.sampled_from(["", " # trailing", "\t#x"]))
            header.append((key, value, add(f"{indent}{key}{before}:{after}{value}{comment}")))
        headers.append(header)
        for _ in range(draw(st.integers(0, 2))):
            add(draw(blank_or_comment))
        for _ in range(draw(st.integers(0, 4))):
            if draw(st.booleans()):
                name = draw(st.sampled_from(PLAIN_SECTIONS))
                args = draw(st.sampled_from(["", "", "-c /bin/bash", "-e"]))
            else:
                name = draw(st.sampled_from(APP_SECTIONS))
                args = draw(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True))
            spelled = draw(case_variants(name))
            # apptainer 1.4.5 reads the name up to the first space: a tab right after it
            # is part of the name ("invalid section(s) specified: post\t")
            gap = draw(st.sampled_from([" ", "  ", " \t"]))
            trail = draw(st.sampled_from(["", " ", "\t"] if args else ["", " ", " \t"]))
            line = add(f"%{spelled}{gap + args if args else ''}{trail}")
            body = draw(st.lists(body_line, max_size=6))
            for text in body:
                add(text)
            sections.append((stage, name, args, line, body))
    text = "".join(lines)
    if lines[-1].strip("\r\n") and draw(st.booleans()):
        text = text.removesuffix("\n").removesuffix("\r")  # no ending on the last line
    return Expected(text, headers, sections)


def structure(deffile: DefFile) -> tuple[object, object]:
    headers = [[(e.key, e.value, e.line) for e in s.header] for s in deffile.stages]
    sections = [
        (i, s.name, s.args, s.line, [t for _, t in s.body_lines()])
        for i, s in deffile.iter_sections()
    ]
    return headers, sections


@given(deffiles())
def test_emit_is_identity_and_parse_is_stable(expected: Expected) -> None:
    parsed = parse_def_text(expected.text, "gen.def")
    assert parsed.emit() == expected.text
    assert parse_def_text(parsed.emit(), "gen.def") == parsed


@given(deffiles())
def test_parse_finds_what_was_generated(expected: Expected) -> None:
    headers, sections = structure(parse_def_text(expected.text))
    assert headers == expected.headers
    assert sections == [
        (stage, name, args, line, body) for stage, name, args, line, body in expected.sections
    ]


@given(deffiles(), st.lists(body_line, max_size=4), st.integers(-1, 0))
def test_generated_block_is_idempotent_and_local(
    expected: Expected, body_lines: list[str], stage: int
) -> None:
    deffile = parse_def_text(expected.text)
    body = "".join(line + "\n" for line in body_lines)
    once = deffile.set_generated_block(TAG, body, stage=stage)
    assert once.set_generated_block(TAG, body, stage=stage) == once
    assert once.generated_block(TAG, stage=stage) == body
    # every other stage is untouched
    target = stage % len(deffile.stages)
    for index, (old, new) in enumerate(zip(deffile.stages, once.stages, strict=True)):
        if index != target:
            assert old.raw == new.raw
    # taking the block out again leaves the original text, give or take the
    # line ending the old last line needed and a bare %post that was added
    restored = once.remove_generated_block(TAG, stage=stage)
    if deffile.stages[target].sections_named("post"):
        original, text = deffile.emit(), restored.emit()
        assert text == original or (text.rstrip("\r\n") == original and original[-1:] != "\n")
    else:
        old = deffile.stages[target].raw.replace("\r\n", "\n")
        head, header, tail = (
            restored.stages[target].raw.replace("\r\n", "\n").rpartition("\n%post\n")
        )
        assert header
        assert head + tail == old or (head + tail == old + "\n" and not old.endswith("\n"))
