"""``oras://`` references: what is accepted, what is refused, and which transport is used."""

from __future__ import annotations

import pytest

from scitex_container.apptainer.transfer.oci_ref import parse_ref
from scitex_container.errors import BadInputError

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("text", "registry", "repository", "tag", "digest"),
    [
        ("oras://127.0.0.1:5000/lab/img:v1", "127.0.0.1:5000", "lab/img", "v1", None),
        ("oras://reg.example.org/a/b/c", "reg.example.org", "a/b/c", "latest", None),
        (f"oras://localhost:5000/img@{DIGEST}", "localhost:5000", "img", None, DIGEST),
        (f"oras://h:1/img:t@{DIGEST}", "h:1", "img", "t", DIGEST),
        ("oras://[::1]:5000/x_y/z-1:1.0.0", "[::1]:5000", "x_y/z-1", "1.0.0", None),
    ],
)
def test_valid_references_parse_and_print_back(text, registry, repository, tag, digest) -> None:
    ref = parse_ref(text)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (
        registry,
        repository,
        tag,
        digest,
    )
    if tag != "latest":
        assert str(ref) == text
    assert ref.reference == (digest or tag)


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("docker://x/y:z", "not an oras://"),
        ("oras://", "no registry host"),
        ("oras:///img:v1", "no registry host"),
        ("oras://h/Upper/case", "invalid repository"),
        ("oras://h/img:bad tag", "whitespace"),
        ("oras://h/img@sha256:1234", "digest must be"),
        ("oras://h/img:-x", "invalid tag"),
        ("oras://h/img\n", "whitespace"),
        ("oras://h/a//b", "invalid repository"),
    ],
)
def test_bad_references_are_refused_naming_what_is_wrong(text, what) -> None:
    with pytest.raises(BadInputError, match=what) as info:
        parse_ref(text, "SOURCE")
    assert info.value.where == "SOURCE"


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ("oras://127.0.0.1:5000/i", True),
        ("oras://127.9.9.9/i", True),
        ("oras://localhost/i", True),
        ("oras://[::1]:5000/i", True),
        ("oras://10.0.0.1:5000/i", False),
        ("oras://registry.example.org/i", False),
        ("oras://127.0.0.1.example.org/i", False),
    ],
)
def test_only_loopback_registries_get_plain_http_unasked(text, plain) -> None:
    ref = parse_ref(text)
    assert ref.plain_http() is plain
    assert ref.plain_http(asked=True) is True
