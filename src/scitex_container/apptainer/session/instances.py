"""Which of this user's Apptainer instances exist: on this host, or on a job's node.

``apptainer instance list --json`` is the authority: it checks each
instance's process where the instance runs (a killed instance is dropped,
not listed), so it must run on the node.  For SLURM sessions it runs in a
step of a job on that node (``srun --overlap --jobid=J``, the way ``exec``
reaches an instance), once per node: the user's instances on a node are all
listed together, whatever job holds them, and the steps of different nodes
run at the same time, on worker threads, while the caller goes on (:class:`NodeListing`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor

from scitex_container.apptainer.session import validate as v
from scitex_container.apptainer.session.argv import srun_in_job
from scitex_container.errors import ScitexError
from scitex_container.process import runner

#: Seconds a listing may take (a node that does not answer must not hang ``list``).
LIST_TIMEOUT = 30.0
#: Most job steps started at the same time.
MAX_PARALLEL = 8


def list_argv(container_cmd: str) -> list[str]:
    return [v.container_cmd(container_cmd), "instance", "list", "--json"]


def names_from_json(text: str) -> set[str] | None:
    """Instance names in ``instance list --json`` output; None when it is not that."""
    try:
        data = json.loads(text or "{}")
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("instances") or [], list):
        return None
    return {str(i.get("instance")) for i in data.get("instances") or [] if isinstance(i, dict)}


def _in_job(job_id: str, container_cmd: str) -> set[str] | None:
    argv = srun_in_job(job_id, list_argv(container_cmd))
    try:
        done = runner.run(argv, readonly=True, timeout=LIST_TIMEOUT, check=False)
    except ScitexError:  # a timeout or no srun: this node is not confirmed
        return None
    return names_from_json(done.stdout) if done.returncode == 0 else None


class NodeListing:
    """Instance listings of nodes, each asked in a job step on a worker thread.

    :meth:`ask` starts a node's step at once (at most :data:`MAX_PARALLEL` run
    together) so the caller can do other work meanwhile; :meth:`answers` waits
    for them.  A node whose step fails (the job ended meanwhile, the node does
    not answer) answers None: its instances are not confirmed either way.
    """

    def __init__(self, container_cmd: str) -> None:
        self._cmd = v.container_cmd(container_cmd)
        self._pool = ThreadPoolExecutor(MAX_PARALLEL, thread_name_prefix="scitex-listing")
        self._asked: dict[str, Future[set[str] | None]] = {}

    def ask(self, node: str, job_id: str) -> None:
        """List ``node``'s instances in a step of ``job_id`` (a job running there)."""
        if node not in self._asked:
            self._asked[node] = self._pool.submit(_in_job, job_id, self._cmd)

    def asked(self) -> set[str]:
        """The nodes asked so far."""
        return set(self._asked)

    def answers(self) -> dict[str, set[str] | None]:
        """``node -> instance names`` (None: not confirmed) of every node asked."""
        return {node: future.result() for node, future in self._asked.items()}


def one_job_per_node(jobs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """``node -> job id`` for (job id, node) pairs of running single-node jobs.

    A node list (``n[1-2]``, ``a,b``) is left out: a step there would run on
    every node of the job.
    """
    out: dict[str, str] = {}
    for job_id, node in sorted(jobs):
        if node and v.NODE_RE.fullmatch(node) and v.JOB_ID_RE.fullmatch(job_id):
            out.setdefault(node, job_id)
    return out
