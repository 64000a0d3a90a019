"""Property tests of the writer's own logic: random objects, read back with header.py."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scitex_container.apptainer.sif.header import HEADER, read_object, read_sif
from scitex_container.apptainer.sif.writer import NewObject, edit_objects

SLOTS = 6


def _empty_sif(path: Path) -> None:
    """A SIF with an empty descriptor table of SLOTS entries and no data (as ``sif new``)."""
    desc_size = SLOTS * 585
    head = HEADER.pack(
        b"#!/usr/bin/env run-singularity\n",
        b"SIF_MAGIC\x00",
        b"01\x00",
        b"00\x00",
        bytes(range(16)),
        1_700_000_000,
        1_700_000_000,
        SLOTS,
        SLOTS,
        HEADER.size,
        desc_size,
        HEADER.size + desc_size,
        0,
    )
    path.write_bytes(head + bytes(desc_size))


names = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=40).filter(
    lambda n: len(n.encode()) <= 128
)
objects = st.builds(
    NewObject,
    name=names,
    data=st.binary(max_size=3000),
    datatype=st.sampled_from([0x4001, 0x4006, 0x4007]),
    group=st.integers(0, 5),
    alignment=st.sampled_from([0, 0, 8, 512, 4096]),
)


@settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(
    first=st.lists(objects, min_size=1, max_size=SLOTS),
    delete=st.sets(st.integers(1, SLOTS)),
    second=st.lists(objects, max_size=SLOTS),
)
def test_objects_read_back_and_never_overlap(first, delete, second):
    with tempfile.TemporaryDirectory() as tmp:
        sif = Path(tmp) / "x.sif"
        _empty_sif(sif)
        ids = edit_objects(sif, add=first, when=1_800_000_000)
        assert ids == tuple(range(1, len(first) + 1))
        gone = sorted(i for i in delete if i <= len(first))
        kept = {i: o for i, o in zip(ids, first, strict=True) if i not in gone}
        room = SLOTS - len(kept)
        second = second[:room]
        new_ids = edit_objects(sif, delete=gone, add=second, when=1_800_000_001)
        expect = {**kept, **dict(zip(new_ids, second, strict=True))}
        info = read_sif(sif)
        assert {o.id for o in info.objects} == set(expect)
        spans = []
        for obj in info.objects:
            want = expect[obj.id]
            assert (obj.name, obj.datatype, obj.group) == (want.name, want.datatype, want.group)
            assert read_object(sif, obj) == want.data
            if want.alignment:
                assert obj.offset % want.alignment == 0
            spans.append((obj.offset, obj.offset + obj.size))
        spans.sort()
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
        fields = HEADER.unpack(sif.read_bytes()[: HEADER.size])
        assert fields[7] == SLOTS - len(expect)  # descriptors free
        end = max((e for _, e in spans), default=fields[11])
        if new_ids or not gone:
            assert fields[11] + fields[12] == max(end, fields[11])  # data size: the last end
        assert fields[6] == (1_800_000_001 if gone or second else 1_800_000_000)
