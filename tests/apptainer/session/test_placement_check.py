"""A request no node can hold is refused where it is submitted, against the real cluster.

The test bed: partition ``compute`` (this host, 2 CPUs) and ``multi``
(``scx-node1``/``scx-node2``, 2 CPUs and 2048 MB each).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sessionkit import START

from scitex_container.apptainer.session.capacity import nodes as cluster_nodes
from scitex_container.apptainer.session.placement import check_request
from scitex_container.errors import BadInputError

pytestmark = [pytest.mark.slurm]


def test_a_request_that_fits_names_the_nodes_that_can_hold_it() -> None:
    multi = check_request("multi", 2, 2)
    assert multi.nodes == ("scx-node1", "scx-node2")
    assert check_request("multi", 1, 1, node="scx-node2").nodes == ("scx-node2",)
    default = check_request("", 1, 1)  # the cluster's default partition
    assert default.partition == "compute" and default.nodes


@pytest.mark.parametrize(
    ("args", "where", "words"),
    [
        (("compute", 4, 16), "slurm_cpus", "asks for 4 CPUs"),  # the reference's defaults
        (("multi", 1, 4), "slurm_memory_gb", "asks for 4 GB"),
        (("multi", 1, 3, "scx-node1"), "slurm_memory_gb", "asks for 3 GB"),
        (("no-such-part", 1, 1), "slurm_partition", "'no-such-part'"),
        (("multi", 1, 1, "no-such-node"), "slurm_node", "not in partition multi"),
        (("multi", 0, 1), "slurm_cpus", ""),
    ],
)
def test_a_request_no_node_can_hold_is_refused_naming_the_field(args, where, words) -> None:
    with pytest.raises(BadInputError) as err:
        check_request(*args)
    assert err.value.where == where and words in str(err.value)


def test_the_largest_node_is_what_sinfo_reports() -> None:
    nodes = {n.node: n for n in cluster_nodes() if n.partition == "multi"}
    assert set(nodes) == {"scx-node1", "scx-node2"}
    biggest = max(n.memory_mb for n in nodes.values())
    check_request("multi", 1, biggest // 1024)
    with pytest.raises(BadInputError):
        check_request("multi", 1, biggest // 1024 + 1)


@pytest.mark.apptainer
def test_session_start_refuses_before_sbatch(workspace, user_image: Path) -> None:
    ws = workspace
    before = ws.active_jobs()
    done = ws.cli(
        "--json",
        *START,
        str(user_image),
        "-p",
        str(ws.project),
        "--partition",
        "multi",
        "--mem-gb",
        "64",
    )
    assert done.returncode == 2, done.stderr
    error = json.loads(done.stdout)
    assert "slurm_memory_gb" in json.dumps(error) and "64 GB" in json.dumps(error)
    assert ws.active_jobs() <= before
    assert ws.records() == []
