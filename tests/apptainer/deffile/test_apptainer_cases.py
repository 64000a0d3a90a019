"""Our parser accepts what apptainer's parser accepts, case by case.

The cases are those of apptainer's own parser test data
(``pkg/build/types/parser/testdata_good`` and ``testdata_bad``), restated
here with inputs written for this test: several ``%files`` sections (with
the same and with ``from`` arguments, naming stages that do not exist),
quoted sources and destinations, section arguments with a comment and
``-c``, a ``#!`` runscript, ``Fingerprints``, the zypper/SLE headers with
continued values and ``OtherURL<N>``, repeated script sections; and the
refusals: an unknown section, an empty file, a file of comments, JSON.
A def without any header is refused here and by apptainer's build
("all must have headers"), though apptainer's parser alone reads one.
"""

from __future__ import annotations

import pytest

from scitex_container.apptainer.deffile import parse_def_text
from scitex_container.apptainer.deffile.sources import split_line
from scitex_container.errors import DefFileError

MULTIPLE_FILES = """\
Bootstrap: docker
From: debian:bookworm
Stage: first

%files
    a.txt /opt/a
    b.txt /opt/b

%files from elsewhere
    /opt/x /opt/x-copy

%post
    echo one

%files from elsewhere
    /opt/y /opt/y-copy

%files
    c.txt /opt/c
"""


def test_several_files_sections_and_from_any_stage_name():
    deffile = parse_def_text(MULTIPLE_FILES)
    entries = deffile.files_entries()
    assert [(e.src, e.dest, e.from_stage) for e in entries] == [
        ("a.txt", "/opt/a", None),
        ("b.txt", "/opt/b", None),
        ("/opt/x", "/opt/x-copy", "elsewhere"),
        ("/opt/y", "/opt/y-copy", "elsewhere"),
        ("c.txt", "/opt/c", None),
    ]


@pytest.mark.parametrize(
    ("line", "src", "dst"),
    [
        ('"my file"', "my file", ""),
        ('"my file" "plain"', "my file", "plain"),
        ('"my file" "dest with space"', "my file", "dest with space"),
        ("other", "other", ""),
        ('other "dest with space"', "other", "dest with space"),
        ('"quoted" "quoted dest"', "quoted", "quoted dest"),
        ("tabs\tand  spaces   /opt/t", "tabs", "and"),
        ("src dst # a comment", "src", "dst"),
    ],
)
def test_quoted_files_split_as_apptainer_splits_them(line, src, dst):
    assert split_line(line) == (src, dst)
    parse_def_text(f"Bootstrap: docker\nFrom: x\n%files\n    {line}\n")


def test_section_arguments_with_interpreter_and_comment():
    text = (
        "Bootstrap: library\nFrom: debian:12\n\n%files from builder\n    a a\n\n"
        "%post -c /bin/bash -l extra #comment\n    function f { echo; }\n    f\n"
    )
    post = parse_def_text(text).stage(-1).sections_named("post")[0]
    assert post.args == "-c /bin/bash -l extra #comment"


def test_shebang_runscript_and_fingerprints():
    text = (
        "Bootstrap: localimage\nFrom: /images/base.sif\n"
        f"Fingerprints: {'0123456789ABCDEF' * 2}01234567,{'FEDCBA9876543210' * 2}FEDCBA98\n"
        "# a comment in the header\n\n%runscript\n#!/usr/bin/env python3\nprint('hi')\n"
    )
    deffile = parse_def_text(text)
    assert deffile.get("fingerprints", "").count(",") == 1
    assert (
        deffile.stage(-1)
        .sections_named("runscript")[0]
        .raw_body.startswith("#!/usr/bin/env python3")
    )


def test_zypper_headers_with_continued_values():
    text = (
        "Bootstrap: zypper\nOSVersion: 15.5\nMirrorURL: http://mirror.example/sle\n"
        "Product: SLE_HPC/%{OSVERSION}/x86_64\nUser: someone@example.org\nRegcode: CODE-1\n"
        "RegisterUrl: https://register.example\n"
        "ProductPGP: -----BEGIN KEY-----\\n\\\nAAAA\\n\\\n-----END KEY-----\n"
        "Modules: mod-a,mod-b\nOtherurl0: https://a.example/r\nOtherURL12: https://b.example/r\n"
        "Include: pkg\n"
    )
    deffile = parse_def_text(text)
    assert deffile.get("productpgp") == "-----BEGIN KEY-----\nAAAA\n-----END KEY-----"
    assert [h.name for h in deffile.header][-3:] == ["otherurl0", "otherurl12", "include"]


def test_repeated_script_sections():
    text = (
        "Bootstrap: docker\nFrom: x\nIncludeCmd: yes\n%setup\n    touch a\n%post\n    echo 1\n"
        "%runscript\n    echo r1\n%setup\n    touch b\n%post\n    echo 2\n%runscript\n    echo r2\n"
    )
    assert len(parse_def_text(text).stage(-1).sections_named("post")) == 2


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("Bootstrap: docker\nFrom: x\n%nosuchsection\n    x\n", "unknown section"),
        ("", "no `Bootstrap:` header"),
        ("# only\n# comments\n\n", "no `Bootstrap:` header"),
        ('{"rawDefFile": "Qm9vdHN0cmFw"}\n', "unknown header keyword"),
        ("%help\n    no header at all\n", "no `Bootstrap:` header"),
    ],
)
def test_what_apptainer_refuses(text, fragment):
    with pytest.raises(DefFileError, match=fragment):
        parse_def_text(text)
