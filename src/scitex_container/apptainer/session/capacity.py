"""Before a session is submitted: can the user use the project, can SLURM ever run the job?

``session start`` checks these before anything is written or submitted, so
a request SLURM would leave pending forever (a partition that does not
exist, a node outside the partition, more CPUs or memory than any node of
the partition has) or a session whose every exec would fail (a project
directory the user cannot enter or write) is refused at once: a
:class:`~scitex_container.errors.BadInputError` naming the field (exit 2).

SLURM's own view is asked once: ``sinfo -N`` lists every node with its
partitions, CPUs and memory (``RealMemory``, MB); ``scontrol show partition
-o`` gives each partition's limits (``MaxTime``, ``MaxMemPerNode``,
``MaxCPUsPerNode``), which a request must also fit: sbatch accepts a job
beyond them (unless the site enforces partition limits) and it pends forever.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from scitex_container.apptainer.session import validate as v
from scitex_container.errors import BadInputError
from scitex_container.files.ownership import describe
from scitex_container.process import runner

SINFO_FORMAT = "%N|%P|%c|%m"
#: Words SLURM uses for "no limit".
UNLIMITED = ("UNLIMITED", "INFINITE", "NONE", "")


@dataclass(frozen=True)
class PartitionLimits:
    name: str
    max_minutes: int | None = None  #: MaxTime; None: unlimited
    max_mem_mb: int | None = None  #: MaxMemPerNode
    max_cpus: int | None = None  #: MaxCPUsPerNode


def slurm_minutes(text: str) -> int | None:
    """Minutes of a SLURM time (``30``, ``MM:SS``, ``H:MM:SS``, ``D-H[:M[:S]]``); None: unlimited.

    Raises ValueError for text that is no SLURM time.  Seconds round up, as SLURM does.
    """
    text = text.strip()
    if text.upper() in UNLIMITED:
        return None
    days, _, rest = text.rpartition("-")
    parts = [int(p) for p in rest.split(":")]
    if days:
        h, m, sec = [*parts, 0, 0][:3]
        return int(days) * 1440 + h * 60 + m + (1 if sec else 0)
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        return parts[0] + (1 if parts[1] else 0)
    h, m, sec = parts[:3]
    return h * 60 + m + (1 if sec else 0)


def _limit(value: str) -> int | None:
    value = value.strip()
    if value.upper() in UNLIMITED:
        return None
    digits = value.rstrip("MGTK")
    number = int(digits)
    return number * {"G": 1024, "T": 1024 * 1024}.get(value[-1:], 1)


def parse_partitions(text: str) -> dict[str, PartitionLimits]:
    """``scontrol show partition -o`` (one partition a line) -> limits by name."""
    out: dict[str, PartitionLimits] = {}
    for line in text.splitlines():
        fields = dict(w.split("=", 1) for w in line.split() if "=" in w)
        name = fields.get("PartitionName")
        if not name:
            continue
        try:
            out[name] = PartitionLimits(
                name,
                slurm_minutes(fields.get("MaxTime", "")),
                _limit(fields.get("MaxMemPerNode", "")),
                _limit(fields.get("MaxCPUsPerNode", "")),
            )
        except ValueError:
            out[name] = PartitionLimits(name)  # a value we cannot read limits nothing here
    return out


def partitions() -> dict[str, PartitionLimits]:
    """Every partition's limits, from SLURM."""
    out = runner.run(["scontrol", "show", "partition", "-o"], readonly=True, timeout=60)
    return parse_partitions(out.stdout)


def check_limits(
    limits: dict[str, PartitionLimits],
    wanted: list[str],
    cpus: int,
    memory_gb: int,
    minutes: int | None,
) -> None:
    """Refuse a request beyond the limits of every partition in ``wanted`` (never to start)."""
    fits = []
    for name in wanted:
        lim = limits.get(name, PartitionLimits(name))
        why = None
        if minutes is not None and lim.max_minutes is not None and minutes > lim.max_minutes:
            why = (
                "slurm_time_limit",
                f"a time limit of {minutes} min; its MaxTime is {lim.max_minutes} min",
            )
        elif minutes is None and lim.max_minutes is not None:
            why = ("slurm_time_limit", f"no time limit; its MaxTime is {lim.max_minutes} min")
        elif lim.max_mem_mb is not None and memory_gb * 1024 > lim.max_mem_mb:
            why = ("slurm_memory_gb", f"{memory_gb} GB; its MaxMemPerNode is {lim.max_mem_mb} MB")
        elif lim.max_cpus is not None and cpus > lim.max_cpus:
            why = ("slurm_cpus", f"{cpus} CPUs; its MaxCPUsPerNode is {lim.max_cpus}")
        if why is None:
            return
        fits.append((name, why))
    if fits:
        name, (field, text) = fits[0]
        raise BadInputError(f"partition {name} cannot run it: asks for {text}", field)


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


def check_capacity(
    partition: str, node: str, cpus: int, memory_gb: int, time_limit: str = ""
) -> None:
    """Refuse (exit 2, naming the field) a request no node of the partition can hold,
    or beyond the partition's own limits (``time_limit``: a SLURM time, "" unchecked).

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
    minutes = slurm_minutes(time_limit) if time_limit else -1
    used = sorted({r.partition for r in eligible})
    check_limits(partitions(), used, cpus, memory_gb, None if minutes is None else max(minutes, 0))
