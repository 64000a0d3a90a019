"""Before a session is submitted: can the user use the project, can SLURM ever run the job?

``session start`` checks these before anything is written or submitted, so
a request SLURM would leave pending forever (a partition that does not
exist, a node outside the partition, more CPUs or memory than any node of
the partition has) or a session whose every exec would fail (a project
directory the user cannot enter or write) is refused at once: a
:class:`~scitex_container.errors.BadInputError` naming the field (exit 2).

SLURM's own view is asked once: ``sinfo -N`` lists every node with its
partitions, CPUs and memory (``RealMemory``, MB).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from scitex_container.apptainer.session import validate as v
from scitex_container.errors import BadInputError
from scitex_container.files.ownership import describe
from scitex_container.process import runner

SINFO_FORMAT = "%N|%P|%c|%m"


@dataclass(frozen=True)
class NodeRow:
    node: str
    partition: str  #: without the default marker
    default: bool
    cpus: int
    memory_mb: int


def check_project_dir(project: str) -> None:
    """Refuse (exit 2) a project directory the caller cannot enter and write."""
    try:
        st = os.stat(project)
    except OSError as exc:
        raise BadInputError(f"cannot use the project directory: {exc.strerror}", project) from None
    if not os.path.isdir(project):
        raise BadInputError("the project directory is not a directory", project)
    if not os.access(project, os.X_OK | os.W_OK):
        raise BadInputError(
            f"you cannot enter and write the project directory ({describe(st)}); "
            "every command in the session would fail",
            project,
        )


def parse_sinfo(text: str) -> list[NodeRow]:
    rows: list[NodeRow] = []
    for line in text.splitlines():
        parts = line.strip().split("|")
        if len(parts) != 4:
            continue
        node, part, cpus, mem = parts
        try:
            rows.append(NodeRow(node, part.rstrip("*"), part.endswith("*"), int(cpus), int(mem)))
        except ValueError:
            continue
    return rows


def nodes() -> list[NodeRow]:
    """Every (node, partition) SLURM knows, with CPUs and memory."""
    out = runner.run(["sinfo", "-h", "-N", "-o", SINFO_FORMAT], readonly=True, timeout=60)
    return parse_sinfo(out.stdout)


def check_capacity(partition: str, node: str, cpus: int, memory_gb: int) -> None:
    """Refuse (exit 2, naming the field) a request no node of the partition can hold.

    ``partition``: comma-separated names, or empty for SLURM's default.  A dry
    run checks too (``sinfo`` is a read-only query): it shows what the real
    run would do, a refusal included.
    """
    rows = nodes()
    known = sorted({r.partition for r in rows})
    if partition:
        wanted = [v.partition(p) for p in partition.split(",") if p]
        for name in wanted:
            if name not in known:
                raise BadInputError(
                    f"SLURM has no partition {name!r} (known: {', '.join(known) or 'none'})",
                    "slurm_partition",
                )
        label = ",".join(wanted)
    else:
        wanted = sorted({r.partition for r in rows if r.default})
        if not wanted:
            raise BadInputError("SLURM has no default partition; give one", "slurm_partition")
        label = f"{wanted[0]} (the default)"
    eligible = [r for r in rows if r.partition in wanted]
    if node:
        eligible = [r for r in eligible if r.node == node]
        if not eligible:
            raise BadInputError(f"node {node!r} is not in partition {label}", "slurm_node")
    if not eligible:
        raise BadInputError(f"partition {label} has no nodes", "slurm_partition")
    most_cpus = max(r.cpus for r in eligible)
    if cpus > most_cpus:
        raise BadInputError(
            f"asks for {cpus} CPUs; the most a node of partition {label} has is {most_cpus}",
            "slurm_cpus",
        )
    most_mb = max(r.memory_mb for r in eligible)
    if memory_gb * 1024 > most_mb:
        raise BadInputError(
            f"asks for {memory_gb} GB; the most a node of partition {label} has is {most_mb} MB",
            "slurm_memory_gb",
        )
    if not any(r.cpus >= cpus and r.memory_mb >= memory_gb * 1024 for r in eligible):
        raise BadInputError(
            f"no node of partition {label} has both {cpus} CPUs and {memory_gb} GB",
            "slurm_cpus",
        )
