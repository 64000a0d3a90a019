"""The lock model and file format: round trip, reference files, malformed input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scitex_container.apptainer.lock.lockfile import (
    Lock,
    parse_lock,
    read_lock,
    render_lock,
    write_lock,
)
from scitex_container.errors import BadInputError, NotFoundError

NPM_JSON = json.dumps(
    {
        "name": "lib",
        "dependencies": {
            "tiny-tool": {"version": "1.2.3", "overridden": False},
            "@scope/pkg": {"version": "0.1.0"},
        },
    },
    indent=2,
)


def sample(**header) -> Lock:
    return Lock(
        pip={
            "NumPy": "2.1.0",
            "scitex_demo_hello": "1.0.0",
            "x @ file:///w/x-1.0-py3-none-any.whl": "",
        },
        dpkg={
            "libc6": "2.36-9+deb12u4",
            "libc6:i386": "2.36-9+deb12u4",
            "zlib1g": "1:1.2.13.dfsg-1",
        },
        node=NPM_JSON,
        **header,
    )


def test_round_trip_is_exact(tmp_path):
    lock = sample(
        tool_version="scitex-container 0.1.0",
        image_sha256="a" * 64,
        captured_at="2026-01-01T00:00:00Z",
        command="scitex-container lock capture x.sif",
    )
    path = write_lock(lock, tmp_path / "x.lock")
    again = read_lock(path)
    assert again == lock
    assert render_lock(again) == path.read_text()


def test_names_are_kept_as_written_and_sections_sorted(tmp_path):
    text = render_lock(sample())
    assert text.startswith(
        "# scitex-container lock\n[pip]\nNumPy==2.1.0\nscitex_demo_hello==1.0.0\n"
    )
    assert "libc6=2.36-9+deb12u4\nlibc6:i386=2.36-9+deb12u4\nzlib1g=" in text
    assert "# captured" not in text  # no date given: no varying line


def test_version_set_flattens_every_manager():
    vs = Lock(
        pip={"a": "1"}, dpkg={"b": "2"}, node=NPM_JSON, apk={"musl": "1.2.4-r2"}
    ).version_set()
    assert vs == {
        "pip:a": "1",
        "dpkg:b": "2",
        "node:@scope/pkg": "0.1.0",
        "node:tiny-tool": "1.2.3",
        "apk:musl": "1.2.4-r2",
    }


def test_reads_the_reference_format():
    text = (
        "# scitex-container lock\n[pip]\nnumpy==2.1.0\n-e git+https://x/y@abc#egg=y\n"
        "[dpkg]\nlibc6=2.39-0ubuntu8\n[node]\n" + NPM_JSON + "\n"
    )
    lock = parse_lock(text)
    assert lock.pip == {"-e git+https://x/y@abc#egg=y": "", "numpy": "2.1.0"}
    assert lock.version_set()["node:tiny-tool"] == "1.2.3"
    assert lock.image_sha256 == ""


def test_same_content_same_bytes_whatever_the_input_order():
    a = Lock(pip={"b": "1", "a": "2"}, dpkg={"z": "1", "y": "2"})
    b = Lock(pip={"a": "2", "b": "1"}, dpkg={"y": "2", "z": "1"})
    assert render_lock(a) == render_lock(b)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("junk\n[pip]\n", 1, "outside any section"),
        ("# scitex-container lock\n[pip]\na==1\nA==2\n", 4, "duplicate pip package `A`"),
        ("[pip]\nhello world\n", 2, "not a pip pin"),
        ("[pip]\n[dpkg]\nlibc6\n", 3, "not a dpkg pin"),
        ("[dpkg]\nlibc6=1\nlibc6=2\n", 3, "duplicate dpkg package"),
        ('[pip]\n[node]\n{\n  "a":\n}\n', 5, "not valid JSON"),
        ("[pip]\n[pip]\n", 2, "appears twice"),
        ("[pip]\n[node]\n\ngarbage here\n", 4, "not npm JSON"),
        ("[node]\nnpm WARN fine\nleft-pad 1.3.0\n", 3, "not npm JSON"),
        ("[pip]\n[rpm]\n", 2, "unknown section"),
        ("[pip]\na==1\n[node]\n[bogus]\n", 4, "unknown section `[bogus]`"),  # after [node]
        ('[pip]\n[node]\n{"dependencies": {"x": {"name": "x"}}}\n', 3, "`x` has no version"),
        ('[pip]\n[node]\n{"name": "x"}\n', 3, "`x` has no version"),
        # what the seed's reader would also refuse (the seed's own quirks are read)
        ('[pip]\n[node]\n{"dependencies": \n', 3, "not valid JSON"),
        ("[pip]\n==1.0\n", 2, "not a pip pin"),
        ("[dpkg]\nlibc6\n", 2, "not a dpkg pin"),
        ("# artifact: dpkg:libc6 md5:abc\n[dpkg]\n", 1, "not an artifact line"),
        ("# provided-by: pip:numpy pip:numpy\n[dpkg]\n", 1, "not a provided-by line"),
    ],
)
def test_malformed_lock_names_file_and_line(tmp_path, text, line, words):
    path = tmp_path / "bad.lock"
    path.write_text(text)
    with pytest.raises(BadInputError) as info:
        read_lock(path)
    assert info.value.where == f"{path}:{line}"
    assert words in str(info.value)


def test_no_sections_is_an_error(tmp_path):
    path = tmp_path / "empty.lock"
    path.write_text("# scitex-container lock\n# just comments\n")
    with pytest.raises(BadInputError, match="no \\[pip\\]"):
        read_lock(path)


def test_missing_lock_is_not_found(tmp_path):
    with pytest.raises(NotFoundError):
        read_lock(tmp_path / "nope.lock")


def test_a_lock_that_cannot_be_read_is_named_once(tmp_path: Path) -> None:
    """A FIFO lock said "ff: cannot read lock file: ff: the lock file is not a regular
    file (a FIFO)" and a missing one "x: lock file `x` does not exist": the path twice."""
    import os

    from scitex_container.apptainer.lock.lockfile import read_lock

    os.mkfifo(tmp_path / "ff")
    (tmp_path / "dl").symlink_to("gone")
    cases = {
        "ff": "the lock file is not a regular file (a FIFO)",
        "nope": "the lock file does not exist",
        "dl": "is a dangling link (to gone)",
    }
    for name, said in cases.items():
        with pytest.raises(BadInputError) as err:
            read_lock(tmp_path / name)
        assert str(err.value) == f"{tmp_path / name}: {said}"
        assert err.value.exit_code == 2
