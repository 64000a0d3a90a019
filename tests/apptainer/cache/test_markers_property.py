"""Property: a checkpoint marker is accepted exactly where the shell is between two complete
commands, and running the pieces one by one prints what the whole ``%post`` prints."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scitex_container.apptainer.cache.markers import checkpoint_lines
from scitex_container.apptainer.deffile import parse_def_text
from scitex_container.errors import DefFileError
from scitex_container.process import runner

MARK = "# scitex: checkpoint"
HEAD = "Bootstrap: localimage\nFrom: base.sif\n\n%post\n"
#: Shell constructs; a cut anywhere inside one leaves an incomplete program (or a continuation).
UNITS = [
    ["echo a"],
    ["if true; then", "  echo b", "fi"],
    ["for i in 1 2; do", "  echo c$i", "done"],
    ["cat <<EOF", "d", "EOF"],
    ["cat <<\\true", "e", "true"],
    ["cat <<'E.x'", "f", "E.x"],
    ["cat <<-'1EOF'", "\tg", "\t1EOF"],
    ["echo 'h", "i'"],
    ["x=`echo j", 'echo k`; echo "$x"'],
    ["echo l &&", "  echo m"],
    ["echo n |", "  cat"],
    ["echo o \\", "  p"],
    ["f(){", "  echo q", "}; f"],
    ["case a in", "  a) echo r;;", "esac"],
    ["{", "  echo s", "}"],
    ["(", "  echo t", ")"],
    ["echo done; while false; do", "  :", "done"],
    ["echo fi; if true; then echo u", "fi"],
]


def _sh(program: str) -> str:
    return runner.run(["sh", "-c", program]).stdout


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    units=st.lists(st.sampled_from(UNITS), min_size=2, max_size=5),
    data=st.data(),
)
def test_a_marker_is_accepted_exactly_between_complete_commands(units, data) -> None:
    lines = [line for unit in units for line in unit]
    boundaries = set()
    at = 0
    for unit in units[:-1]:
        at += len(unit)
        boundaries.add(at)
    cuts = data.draw(st.sets(st.integers(1, len(lines) - 1), min_size=1, max_size=2))
    body = []
    for i, line in enumerate(lines):
        if i in cuts:
            body.append(MARK)
        body.append(line)
    text = HEAD + "".join(line + "\n" for line in body)
    deffile = parse_def_text(text, "r.def")
    if cuts <= boundaries:
        found = checkpoint_lines(deffile)
        assert len(found) == len(cuts)
        pieces, piece = [], []
        for line in body:
            if line == MARK:
                pieces.append(piece)
                piece = []
            else:
                piece.append(line)
        pieces.append(piece)
        whole = _sh("\n".join(lines) + "\n")
        assert "".join(_sh("\n".join(p) + "\n") for p in pieces) == whole
    else:
        with pytest.raises(DefFileError) as info:
            checkpoint_lines(deffile)
        assert info.value.exit_code == 2
        bad = {4 + c + sorted(cuts).index(c) + 1 for c in cuts if c not in boundaries}
        assert any(f"r.def:{line}:" in str(info.value) for line in bad), (bad, info.value)
