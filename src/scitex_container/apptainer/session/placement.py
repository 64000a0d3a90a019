"""Can a partition ever run a request?  Checked before anything is submitted.

The reference builders default to 4 CPUs, 16 GB and partition ``compute``;
a cluster whose nodes are smaller accepts such a job and leaves it pending
for ever (reason ``PartitionConfig`` or ``Resources``).  The builders stay
pure (they cannot know the cluster); :func:`check_request` asks SLURM
(one ``sinfo -N`` call) where the job is submitted: ``session start`` calls
it before ``sbatch``, and callers of the reference builders can too.
"""

from __future__ import annotations

from dataclasses import dataclass

from scitex_container.apptainer.session import validate as v
from scitex_container.errors import BadInputError
from scitex_container.process import runner
from scitex_container.result import Result


@dataclass(frozen=True)
class NodeSize(Result):
    name: str
    partition: str
    cpus: int
    memory_mb: int


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


def cluster_nodes() -> list[NodeSize]:
    """Every node of every partition with its CPUs and memory (``sinfo -N``)."""
    out = runner.run(["sinfo", "-h", "-N", "-o", "%N|%P|%c|%m"], readonly=True, timeout=60).stdout
    nodes: list[NodeSize] = []
    for line in out.splitlines():
        parts = line.strip().split("|")
        if len(parts) != 4:
            continue
        name, part, cpus, mem = parts
        try:
            nodes.append(NodeSize(name, part, int(cpus.rstrip("+")), int(mem.rstrip("+"))))
        except ValueError:
            continue
    return nodes


def _gb(memory_mb: int) -> str:
    return f"{memory_mb / 1024:.1f} GB"


def check_request(partition: str, cpus: int, memory_gb: int, node: str | None = None) -> Placement:
    """Check that a node of ``partition`` can ever hold ``cpus`` CPUs and ``memory_gb`` GB.

    Args:
        partition: a partition name, several comma-separated, or ``""`` for
            the cluster's default partition.
        cpus: CPUs per task (as ``--cpus-per-task``).
        memory_gb: memory in GB (as ``--mem=<n>G``, 1 GB = 1024 MB).
        node: a node the job must run on (it must belong to the partition).

    Returns:
        The :class:`Placement` (the nodes that fit).

    Raises:
        BadInputError: no such partition (``slurm_partition``), the node is
            not in it (``slurm_nodelist``), or no node is large enough
            (``slurm_cpus`` / ``slurm_memory_gb``, naming the largest node).
    """
    cpus = v.cpus(cpus)
    memory_gb = v.memory_gb(memory_gb)
    wanted = [v.partition(p) for p in partition.split(",")] if partition else []
    node = v.nodelist(node or "", "slurm_nodelist")
    everything = cluster_nodes()
    if not everything and runner.is_dry_run():
        return Placement(partition, cpus, memory_gb, node, ())
    if not wanted:
        wanted = sorted({n.partition.rstrip("*") for n in everything if n.partition.endswith("*")})
        if not wanted:
            raise BadInputError(
                "no partition given and the cluster has no default one", "slurm_partition"
            )
    label = ",".join(wanted)
    members = [n for n in everything if n.partition.rstrip("*") in wanted]
    known = {n.partition.rstrip("*") for n in members}
    missing = [p for p in wanted if p not in known]
    if missing:
        raise BadInputError(
            f"SLURM has no partition {missing[0]!r} with nodes (see `sinfo`)", "slurm_partition"
        )
    if node:
        members = [n for n in members if n.name == node]
        if not members:
            raise BadInputError(
                f"node {node!r} is not in partition {label!r} (see `sinfo -N -p {label}`)",
                "slurm_nodelist",
            )
    need_mb = memory_gb * 1024
    fit = tuple(sorted({n.name for n in members if n.cpus >= cpus and n.memory_mb >= need_mb}))
    if fit:
        return Placement(label, cpus, memory_gb, node, fit)
    where = f"node {node!r}" if node else f"no node of partition {label!r}"
    most_cpus = max(n.cpus for n in members)
    most_mem = max(n.memory_mb for n in members)
    if most_cpus < cpus:
        field, what = "slurm_cpus", f"{cpus} CPUs (at most {most_cpus})"
    elif most_mem < need_mb:
        field, what = "slurm_memory_gb", f"{memory_gb} GB of memory (at most {_gb(most_mem)})"
    else:
        field = "slurm_cpus/slurm_memory_gb"
        what = f"{cpus} CPUs and {memory_gb} GB together"
    verb = "cannot hold" if node else "can hold"
    raise BadInputError(
        f"{where} {verb} {what}: the job would pend for ever; ask for less "
        f"or choose another partition (see `sinfo -N -p {label} -o '%N %c %m'`)",
        field,
    )
