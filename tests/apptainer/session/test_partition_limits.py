"""A request beyond a partition's own limits (MaxTime, MaxMemPerNode, MaxCPUsPerNode).

sbatch accepts such a job and it pends forever; ``session start`` and
``check_request`` refuse it first.  The rules are checked on captured
``scontrol show partition -o`` output (our own logic); the real cluster's
partitions are read for real (its config is not changed).
"""

from __future__ import annotations

import shutil

import pytest

from scitex_container.apptainer.session import capacity
from scitex_container.apptainer.session.placement import check_request
from scitex_container.errors import BadInputError

CAPTURED = (
    "PartitionName=short AllowGroups=ALL Default=NO MaxNodes=UNLIMITED MaxTime=01:00:00 "
    "MaxCPUsPerNode=1 Nodes=n[1-2] State=UP TotalCPUs=4 DefMemPerNode=UNLIMITED "
    "MaxMemPerNode=2048 TRES=cpu=4,mem=8G,node=2\n"
    "PartitionName=long AllowGroups=ALL Default=YES MaxTime=7-00:00:00 "
    "MaxCPUsPerNode=UNLIMITED Nodes=n[1-2] State=UP MaxMemPerNode=UNLIMITED\n"
    "PartitionName=odd MaxTime=INFINITE MaxMemPerNode=4G MaxCPUsPerNode=UNLIMITED\n"
)


def test_partition_limits_are_read_from_scontrol():
    limits = capacity.parse_partitions(CAPTURED)
    assert limits["short"] == capacity.PartitionLimits("short", 60, 2048, 1)
    assert limits["long"] == capacity.PartitionLimits("long", 7 * 1440, None, None)
    assert limits["odd"] == capacity.PartitionLimits("odd", None, 4096, None)


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("30", 30),
        ("90:00", 90),
        ("8:00:00", 480),
        ("1-0", 1440),
        ("2-12", 3600),
        ("1-12:30", 2190),
        ("0:30", 1),
        ("1:00:01", 61),
        ("UNLIMITED", None),
    ],
)
def test_slurm_times(text, minutes):
    assert capacity.slurm_minutes(text) == minutes


@pytest.mark.parametrize(
    ("cpus", "mem", "minutes", "field"),
    [(1, 2, 61, "slurm_time_limit"), (1, 3, 60, "slurm_memory_gb"), (2, 1, 60, "slurm_cpus")],
)
def test_a_request_beyond_a_limit_is_refused_naming_the_field(cpus, mem, minutes, field):
    limits = capacity.parse_partitions(CAPTURED)
    capacity.check_limits(limits, ["short"], 1, 2, 60)  # at the limits: fine
    with pytest.raises(BadInputError) as err:
        capacity.check_limits(limits, ["short"], cpus, mem, minutes)
    assert err.value.where == field and "partition short" in str(err.value)
    capacity.check_limits(limits, ["short", "long"], cpus, mem, minutes)  # another one fits


@pytest.mark.skipif(not shutil.which("scontrol"), reason="needs SLURM")
def test_the_real_clusters_partitions_are_read_and_checked():
    limits = capacity.partitions()
    assert {"compute", "multi"} <= set(limits)
    placed = check_request("multi", 1, 1, time_limit="1:00:00")
    assert placed.nodes
