"""The in-process SIF writer against the real ``apptainer sif add``/``sif del``.

Each edit is made with the real tool on one copy of a real SIF and with
:mod:`scitex_container.apptainer.sif.writer` on another; the writer is
given the second apptainer stamped into the header (``sif`` has no
deterministic option for edits of a non-deterministic image, and
``SOURCE_DATE_EPOCH`` is not read), so the two files must be identical
byte for byte, with no normalising.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from images import busybox_sif
from storekit import flip_byte

from scitex_container.apptainer.lock.provenance import (
    KNOWN_OBJECTS,
    LOCK_OBJECT,
    PROVENANCE_OBJECT,
    SBOM_OBJECT,
    STATEMENT_OBJECT,
    replace_objects,
)
from scitex_container.apptainer.sif.header import DESCRIPTOR, HEADER, read_object, read_sif
from scitex_container.apptainer.sif.writer import (
    NewObject,
    delete_objects,
    edit_objects,
    object_from_add_args,
)
from scitex_container.apptainer.signing.keys import new_keypair
from scitex_container.errors import BadInputError, NotFoundError

pytestmark = pytest.mark.apptainer

#: (options, payload): every kind of object the project writes, and a few more.
CASES = {
    "lock": (KNOWN_OBJECTS[LOCK_OBJECT], b"# lock\npip:\n  requests==2.31.0\n"),
    "provenance": (KNOWN_OBJECTS[PROVENANCE_OBJECT], b'{\n  "schema": 1\n}\n'),
    "statement": (KNOWN_OBJECTS[STATEMENT_OBJECT], b'{"_type": "https://in-toto.io"}\n'),
    "sbom": (KNOWN_OBJECTS[SBOM_OBJECT], b'{"bomFormat": "CycloneDX"}\n' * 50),
    "no group": (("--datatype", "7", "--filename", "loose.bin"), bytes(range(256)) * 3),
    "json generic, linked": (
        ("--datatype", "6", "--filename", "x.json", "--groupid", "2", "--link", "3"),
        b"{}",
    ),
    "aligned": (("--datatype", "7", "--filename", "al.bin", "--alignment", "4096"), b"a" * 5),
    "spdx, odd name": (
        ("--datatype", "9", "--filename", "n" * 128, "--sbomformat", "spdx-json", "--groupid", "1"),
        b"spdx",
    ),
    "empty": (("--datatype", "7", "--filename", "empty", "--groupid", "1"), b""),
}


def _mtime(sif: Path) -> int:
    with open(sif, "rb") as fh:
        return HEADER.unpack(fh.read(HEADER.size))[6]


def _tool_add(sif: Path, args, data: bytes, tmp: Path) -> None:
    payload = tmp / "payload.bin"
    payload.write_bytes(data)
    subprocess.run(["apptainer", "sif", "add", *args, str(sif), str(payload)], check=True)


def _pair(tmp_path: Path) -> tuple[Path, Path]:
    theirs, ours = tmp_path / "theirs.sif", tmp_path / "ours.sif"
    shutil.copy(busybox_sif(), theirs)
    shutil.copy(busybox_sif(), ours)
    return theirs, ours


@pytest.mark.parametrize("case", sorted(CASES))
def test_an_added_object_is_what_apptainer_sif_add_writes(case, tmp_path):
    args, data = CASES[case]
    theirs, ours = _pair(tmp_path)
    _tool_add(theirs, args, data, tmp_path)
    (new_id,) = edit_objects(ours, add=[object_from_add_args(data, args)], when=_mtime(theirs))
    assert ours.read_bytes() == theirs.read_bytes()
    obj = next(o for o in read_sif(ours).objects if o.id == new_id)
    assert read_object(ours, obj) == data
    if data:  # apptainer's own reading of our object
        dump = subprocess.run(
            ["apptainer", "sif", "dump", str(new_id), str(ours)], capture_output=True, check=True
        )
        assert dump.stdout == data
    listing = subprocess.run(
        ["apptainer", "sif", "list", str(ours)], capture_output=True, text=True, check=True
    ).stdout
    assert any(line.split("|")[0].strip() == str(new_id) for line in listing.splitlines())


def test_deletes_and_re_adds_match_the_tool_step_by_step(tmp_path):
    """Delete from the end (space reused) and from the middle (a hole stays), as sif del does."""
    theirs, ours = _pair(tmp_path)
    names = ["one", "two", "three"]
    for name in names:
        args = ("--datatype", "7", "--groupid", "1", "--filename", name)
        _tool_add(theirs, args, name.encode() * 40, tmp_path)
        edit_objects(
            ours, add=[object_from_add_args(name.encode() * 40, args)], when=_mtime(theirs)
        )
        assert ours.read_bytes() == theirs.read_bytes()
    ids = {o.name: o.id for o in read_sif(ours).objects}
    for name in ("three", "one"):
        subprocess.run(["apptainer", "sif", "del", str(ids[name]), str(theirs)], check=True)
        delete_objects(ours, [ids[name]], when=_mtime(theirs))
        assert ours.read_bytes() == theirs.read_bytes()
    args = ("--datatype", "9", "--groupid", "1", "--filename", "s", "--sbomformat", "syft-json")
    _tool_add(theirs, args, b"short", tmp_path)
    (new_id,) = edit_objects(ours, add=[object_from_add_args(b"short", args)], when=_mtime(theirs))
    assert ours.read_bytes() == theirs.read_bytes()
    assert new_id == ids["one"]  # the first free descriptor slot


def _normalised(sif: Path) -> bytes:
    """The file with the header's and every descriptor's times zeroed."""
    data = bytearray(sif.read_bytes())
    fields = HEADER.unpack_from(data)
    data[72:80] = bytes(8)
    for i in range(fields[8]):
        start = fields[9] + i * DESCRIPTOR.size
        data[start + 41 : start + 57] = bytes(16)
    return bytes(data)


def test_replacing_our_objects_matches_the_tool_and_never_grows(tmp_path):
    theirs, ours = _pair(tmp_path)
    first = {
        LOCK_OBJECT: (b"lock v1\n" * 30, KNOWN_OBJECTS[LOCK_OBJECT]),
        PROVENANCE_OBJECT: (b'{"v": 1}\n', KNOWN_OBJECTS[PROVENANCE_OBJECT]),
    }
    for data, args in first.values():
        _tool_add(theirs, args, data, tmp_path)
    replace_objects(ours, first)
    assert _normalised(ours) == _normalised(theirs)
    size = ours.stat().st_size
    # replacing the lock re-adds provenance behind it, as the tool sequence would
    ids = {o.name: o.id for o in read_sif(theirs).objects}
    for name in (PROVENANCE_OBJECT, LOCK_OBJECT):
        subprocess.run(["apptainer", "sif", "del", str(ids[name]), str(theirs)], check=True)
    new_lock = b"lock v2\n" * 10
    _tool_add(theirs, KNOWN_OBJECTS[PROVENANCE_OBJECT], first[PROVENANCE_OBJECT][0], tmp_path)
    _tool_add(theirs, KNOWN_OBJECTS[LOCK_OBJECT], new_lock, tmp_path)
    replace_objects(ours, {LOCK_OBJECT: (new_lock, KNOWN_OBJECTS[LOCK_OBJECT])})
    assert _normalised(ours) == _normalised(theirs)
    assert ours.stat().st_size == size
    named = {o.name: read_object(ours, o) for o in read_sif(ours).objects}
    assert named[LOCK_OBJECT] == new_lock
    assert [o.name for o in read_sif(ours).objects].count(LOCK_OBJECT) == 1


def _verify(sif: Path, public: Path) -> int:
    argv = ["apptainer", "verify", "--all", "--key", str(public), str(sif)]
    return subprocess.run(argv, capture_output=True).returncode


def test_apptainer_signs_and_verifies_our_objects_and_catches_a_flip(tmp_path):
    pair = new_keypair(tmp_path / "keys")
    image = tmp_path / "img.sif"
    shutil.copy(busybox_sif(), image)
    replace_objects(
        image,
        {
            LOCK_OBJECT: (b"lock\n" * 100, KNOWN_OBJECTS[LOCK_OBJECT]),
            SBOM_OBJECT: (b'{"bomFormat": "CycloneDX"}\n', KNOWN_OBJECTS[SBOM_OBJECT]),
        },
    )
    subprocess.run(
        ["apptainer", "sign", "--key", str(pair.private), str(image)],
        check=True,
        capture_output=True,
    )
    assert _verify(image, pair.public) == 0
    lock = read_sif(image).named(LOCK_OBJECT)[0]
    flip_byte(image, lock.offset + lock.size // 2)
    assert _verify(image, pair.public) != 0


def test_bad_edits_leave_the_file_unchanged(tmp_path):
    image = tmp_path / "img.sif"
    shutil.copy(busybox_sif(), image)
    before = image.read_bytes()
    good = NewObject("ok", b"data")
    with pytest.raises(NotFoundError):
        edit_objects(image, delete=[999], add=[good])
    with pytest.raises(BadInputError, match="type"):
        edit_objects(image, add=[good, NewObject("fs", b"x", datatype=0x4004)])
    with pytest.raises(BadInputError, match="longer"):
        edit_objects(image, add=[NewObject("n" * 129, b"x")])
    with pytest.raises(BadInputError, match="format"):
        edit_objects(image, add=[NewObject("s", b"x", datatype=0x4009)])
    with pytest.raises(BadInputError, match="free descriptors"):
        edit_objects(image, add=[good] * (len(read_sif(image).objects) + 100_000))
    with pytest.raises(BadInputError, match="--link"):
        object_from_add_args(b"", ("--datatype", "7", "--link", "0"))
    with pytest.raises(BadInputError, match="unsupported"):
        object_from_add_args(b"", ("--datatype", "4", "--partfs", "1"))
    assert image.read_bytes() == before


def test_a_signature_deleted_in_process_is_what_sif_del_leaves(tmp_path):
    pair = new_keypair(tmp_path / "keys")
    theirs, ours = _pair(tmp_path)
    subprocess.run(
        ["apptainer", "sign", "--key", str(pair.private), str(theirs)],
        check=True,
        capture_output=True,
    )
    shutil.copy(theirs, ours)
    signature = next(o for o in read_sif(theirs).objects if o.datatype == 0x4005)
    subprocess.run(["apptainer", "sif", "del", str(signature.id), str(theirs)], check=True)
    delete_objects(ours, [signature.id], when=_mtime(theirs))
    assert ours.read_bytes() == theirs.read_bytes()
    assert not any(o.datatype == 0x4005 for o in read_sif(ours).objects)


def test_header_fields_used_by_the_writer_are_where_the_tool_puts_them(tmp_path):
    """The offsets _normalised() relies on: created/modified of header and descriptors."""
    theirs, _ = _pair(tmp_path)
    _tool_add(theirs, KNOWN_OBJECTS[LOCK_OBJECT], b"x", tmp_path)
    fields = HEADER.unpack_from(theirs.read_bytes())
    new = max(read_sif(theirs).objects, key=lambda o: o.id)
    raw = theirs.read_bytes()[fields[9] + (new.id - 1) * DESCRIPTOR.size :][: DESCRIPTOR.size]
    assert struct.unpack_from("<qq", raw, 41) == (fields[6], fields[6])
