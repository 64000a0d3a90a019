"""get_dev_mounts: the reference example, relative paths kept for compose, validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from scitex_container.docker import get_dev_mounts
from scitex_container.errors import BadInputError


def test_reference_example() -> None:
    repos = [
        {"host": "../../scitex-python", "container": "/scitex-python"},
        {"host": "/abs/path/to/myrepo", "container": "/myrepo", "mode": "rw"},
    ]
    assert get_dev_mounts(repos) == [
        "../../scitex-python:/scitex-python:ro",  # as given, as the seed
        "/abs/path/to/myrepo:/myrepo:rw",
    ]


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("repo", "./repo"),
        ("./repo", "./repo"),
        ("../repo", "../repo"),
        (".", "."),
        ("..", ".."),
        ("~/src/repo", "~/src/repo"),
        (Path("rel/dir"), "./rel/dir"),
        (Path("/abs"), "/abs"),
    ],
)
def test_host_paths(host, expected: str) -> None:
    assert get_dev_mounts([{"host": host, "container": "/c"}]) == [f"{expected}:/c:ro"]


def test_extra_keys_are_ignored_and_mode_none_is_ro() -> None:
    assert get_dev_mounts([{"host": "/a", "container": "/b", "mode": None, "name": "x"}]) == [
        "/a:/b:ro"
    ]


@pytest.mark.parametrize(
    ("entry", "where", "fragment"),
    [
        ({"host": "/a", "container": "/b", "mode": "rx"}, "repos[1].mode", "'ro' or 'rw'"),
        ({"host": "/a", "container": "b"}, "repos[1].container", "absolute"),
        ({"host": "/a:b", "container": "/b"}, "repos[1].host", "':'"),
        ({"host": "/a", "container": "/b,c"}, "repos[1].container", "','"),
        ({"host": "/a\n", "container": "/b"}, "repos[1].host", "'\\n'"),
        ({"container": "/b"}, "repos[1].host", "got nothing"),
        ({"host": "", "container": "/b"}, "repos[1].host", "empty"),
        ({"host": 3, "container": "/b"}, "repos[1].host", "got int"),
        ("/a:/b", "repos[1]", "mapping"),
    ],
)
def test_bad_entries_name_the_entry(entry, where: str, fragment: str) -> None:
    good = {"host": "/ok", "container": "/ok"}
    with pytest.raises(BadInputError) as info:
        get_dev_mounts([good, entry])
    assert info.value.where == where
    assert fragment in str(info.value)


def test_not_a_list() -> None:
    with pytest.raises(BadInputError, match="list of mappings"):
        get_dev_mounts({"host": "/a", "container": "/b"})
