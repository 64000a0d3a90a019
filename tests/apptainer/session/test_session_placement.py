"""Placing a session: ``--nodelist``/``--constraint`` in the sbatch command (our logic only;
the real cluster is driven in test_session_multinode.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scitex_container.apptainer.session import validate as v
from scitex_container.apptainer.session.sbatch_script import build_sbatch_command
from scitex_container.errors import BadInputError


def _sbatch(**kw) -> list[str]:
    return build_sbatch_command("sx-demo", "/tmp/s/start.sh", "multi", "1:00:00", 1, 1, **kw)


def test_nodelist_and_constraint_become_sbatch_options() -> None:
    argv = _sbatch(nodelist="scx-node[1-2]", constraint="netns&fast")
    assert "--nodelist=scx-node[1-2]" in argv and "--constraint=netns&fast" in argv
    assert argv[-1] == "/tmp/s/start.sh", "options come before the script"
    plain = _sbatch()
    assert not [a for a in plain if a.startswith(("--nodelist", "--constraint"))]


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"nodelist": "n1;id"}, "slurm_nodelist"),
        ({"nodelist": "-w"}, "slurm_nodelist"),
        ({"nodelist": "n 1"}, "slurm_nodelist"),
        ({"nodelist": "n1\n"}, "slurm_nodelist"),
        ({"constraint": "a$(id)"}, "slurm_constraint"),
        ({"constraint": "--x"}, "slurm_constraint"),
        ({"constraint": "a'b"}, "slurm_constraint"),
        ({"nodelist": 3}, "slurm_nodelist"),
    ],
)
def test_bad_placement_names_the_field(kw: dict, field: str) -> None:
    with pytest.raises(BadInputError) as info:
        _sbatch(**kw)
    assert info.value.where == field


@given(st.text(max_size=40))
def test_accepted_placements_are_inert(text: str) -> None:
    """Whatever passes never starts with '-' nor carries whitespace, quotes or shell syntax."""
    for check in (v.nodelist, v.constraint):
        try:
            value = check(text)
        except BadInputError:
            continue
        assert value == text
        assert not value.startswith("-")
        assert not set(value) & set(" \t\n\r'\"$;`\\<>{}!~#=/")


def test_local_backend_refuses_placement(tmp_path) -> None:
    from scitex_container.apptainer.session import start_session

    image = tmp_path / "x.sif"
    image.write_bytes(b"")
    with pytest.raises(BadInputError) as info:
        start_session(image, project_dir=tmp_path, backend="local", node="scx-node1")
    assert "node" in info.value.where
