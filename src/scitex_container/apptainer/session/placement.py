"""Can a partition ever run a request?  The builders' callers ask before submitting.

The reference builders default to 4 CPUs, 16 GB and partition ``compute``;
a cluster whose nodes are smaller accepts such a job and leaves it pending
for ever.  The builders stay pure (they cannot know the cluster);
``session start`` runs :func:`.capacity.check_capacity` before ``sbatch``,
and :func:`check_request` is the same check for a caller of the reference
builders, returning the nodes that can hold the request.
"""

from __future__ import annotations

from dataclasses import dataclass

from scitex_container.apptainer.session import capacity
from scitex_container.apptainer.session import validate as v
from scitex_container.result import Result


@dataclass(frozen=True)
class Placement(Result):
    """A request that some node of the partition can hold.

    ``partition``: the partition(s) checked (the default one when none was
    given); ``nodes``: the nodes large enough for the request.
    """

    partition: str
    cpus: int
    memory_gb: int
    node: str
    nodes: tuple[str, ...]


def check_request(
    partition: str,
    cpus: int,
    memory_gb: int,
    node: str | None = None,
    *,
    time_limit: str = "",
) -> Placement:
    """Check that a node of ``partition`` can ever hold ``cpus`` CPUs and ``memory_gb`` GB.

    Args:
        partition: a partition name, several comma-separated, or ``""`` for
            the cluster's default partition.
        cpus: CPUs per task (as ``--cpus-per-task``).
        memory_gb: memory in GB (as ``--mem=<n>G``, 1 GB = 1024 MB).
        node: a node the job must run on (it must belong to the partition).
        time_limit: the job's time limit (a SLURM time); checked against the
            partition's MaxTime, as memory and CPUs against its
            MaxMemPerNode and MaxCPUsPerNode.

    Returns:
        The :class:`Placement` (the nodes that fit; none in a dry run).

    Raises:
        BadInputError: no such partition (``slurm_partition``), the node is
            not in it (``slurm_node``), or no node is large enough
            (``slurm_cpus`` / ``slurm_memory_gb``, naming the largest size), or
            the request is beyond the partition's limits (the field named).
    """
    cpus, memory_gb = v.cpus(cpus), v.memory_gb(memory_gb)
    node = v.nodelist(node or "", "slurm_node")
    time_limit = v.time_limit(time_limit) if time_limit else ""
    capacity.check_capacity(partition, node, cpus, memory_gb, time_limit)
    rows = capacity.nodes()
    wanted = [p for p in partition.split(",") if p] or sorted(
        {r.partition for r in rows if r.default}
    )
    fit = sorted(
        {
            r.node
            for r in rows
            if r.partition in wanted
            and (not node or r.node == node)
            and r.cpus >= cpus
            and r.memory_mb >= memory_gb * 1024
        }
    )
    return Placement(",".join(wanted), cpus, memory_gb, node, tuple(fit))
