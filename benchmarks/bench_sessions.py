"""Sessions on the real SLURM cluster, as the test user: ``list`` and start.

list: ``scitex-container session list`` over 200 records against the raw
``squeue`` it wraps (both through ``runuser``).  Target: at most 300 ms
(absolute, median), the ratio to squeue reported beside it.  Two states of
the same 200 records: none running (squeue alone answers), and two running
on two nodes (one per node is cross-checked with a job step listing its
instances, both nodes at once).  The CLI's own start-up (``--version``) is
reported too, so the part that is list's work shows.


ours: ``scitex-container session start --slurm`` (CLI start-up, validation,
script and record written atomically, sbatch, waiting for the ready marker).
raw: a hand-written sbatch script doing the same ``apptainer instance
start`` (same flags), submitted with ``sbatch --parsable`` and waited for
with a 50 ms ``grep`` loop.  Both run through ``runuser`` as ``scitex-test``.
Target: ours at most 1 s slower (median).  Between runs (untimed) every
job and instance of the benchmark is cancelled/stopped.

Both run twice: on the submit host's own node (the default partition) and,
when the test bed's extra nodes are up, on ``scx-node1`` (a slurmd in its
own network/UTS/mount namespace, see scripts/setup-host.d/cluster.sh), with
``--node`` for ours and ``-p multi -w`` for the raw script.
"""

from __future__ import annotations

import json
import os
import pwd
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from harness import CaseResult, compare, size

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "helpers"))
USER = "scitex-test"
REMOTE_NODE = "scx-node1"
REMOTE_PARTITION = "multi"
PID_DIR = Path("/run/scitex-cluster")

RAW_JOB = """#!/bin/bash
NAME=rawbench-$SLURM_JOB_ID
trap 'apptainer instance stop "$NAME" >/dev/null 2>&1; exit 143' TERM INT
apptainer instance start --containall --writable-tmpfs --home {home}:/home/{user} \\
    --bind {proj}:/home/{user}/proj/bench:rw {image} "$NAME" || {{ echo INSTANCE_FAILED; exit 1; }}
echo INSTANCE_READY
while apptainer instance list --json "$NAME" | grep -q "\\"$NAME\\""; do sleep 10 & wait $!; done
"""

RAW_START = """#!/bin/bash
rm -f {out}
sbatch --parsable --cpus-per-task=1 --mem=1G {place} --job-name=rawbench \\
    --output={out} {job} > {root}/raw.jobid
until grep -q -x INSTANCE_READY {out} 2>/dev/null; do
    grep -q INSTANCE_FAILED {out} 2>/dev/null && exit 1
    sleep 0.05
done
"""


def _as_user(
    *argv: str, env: dict | None = None, check: bool = True
) -> subprocess.CompletedProcess:
    head = ["runuser", "-u", USER, "--"]
    if env:
        head += ["env", *(f"{k}={v}" for k, v in env.items())]
    return subprocess.run([*head, *argv], capture_output=True, text=True, check=check, timeout=300)


def _run(enter: list[str], *argv: str) -> subprocess.CompletedProcess:
    """As the user, here (``enter=[]``) or on a node (``enter=_enter(node)``)."""
    if not enter:
        return _as_user(*argv, check=False)
    return subprocess.run([*enter, *argv], capture_output=True, text=True, timeout=300, cwd="/")


def _remote_nodes() -> list[str]:
    """The extra test-bed node used for the remote case, if it is up."""
    out = subprocess.run(
        ["sinfo", "-h", "-N", "-n", REMOTE_NODE, "-o", "%T"], capture_output=True, text=True
    ).stdout.strip()
    up = out in ("idle", "mixed", "completing") and (PID_DIR / f"{REMOTE_NODE}.pid").exists()
    return [REMOTE_NODE] if up else []


def _enter(node: str) -> list[str]:
    """nsenter into a node's namespaces (its slurmd's), then run as the user there."""
    pid = (PID_DIR / f"{node}.pid").read_text().strip()
    return ["nsenter", "-t", pid, "-m", "-u", "-n", "runuser", "-u", USER, "--"]


def _cleanup(root: Path) -> None:
    """Cancel the benchmark's jobs, wait until SLURM drops them, stop leftover instances."""
    for name in ("rawbench", f"scitex_{USER}_bench", f"scitex_{USER}_benchlist"):
        _as_user("scancel", "--name", name, check=False)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        out = _as_user("squeue", "-h", "--me", "-o", "%j", check=False).stdout.split()
        if not any(n.startswith(("rawbench", f"scitex_{USER}_bench")) for n in out):
            break
        time.sleep(0.2)
    for enter in [[], *(_enter(node) for node in _remote_nodes())]:
        listed = _run(enter, "apptainer", "instance", "list").stdout
        for line in listed.split("\n")[1:]:
            name = line.split()[0] if line.split() else ""
            if name.startswith(("rawbench-", f"sx-{USER}-bench")):
                _run(enter, "apptainer", "instance", "stop", name)
    state = root / "state"
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir()
    user = pwd.getpwnam(USER)
    os.chown(state, user.pw_uid, user.pw_gid)


RECORDS = """
import sys
from scitex_container.apptainer.session import records
from scitex_container.apptainer.session.records import SessionRecord
count, image, user = int(sys.argv[1]), sys.argv[2], sys.argv[3]
for i in range(count):
    job = str(900000 + i)  # ended long ago: squeue lists none of them
    rec = SessionRecord(id=records.new_session_id("benchlist"), backend="slurm", image=image,
        username=user, project_slug="benchlist", instance=f"sx-{user}-benchlist-{job}",
        job_id=job, state="running")
    records.create_dir(rec.id)
    records.save(rec)
"""
LIST_RECORDS = size(200, 20)
LIST_TARGET_S = 0.300


def _cli(python: Path, env: dict, *args: str) -> list[str]:
    pairs = [f"{k}={v}" for k, v in env.items()]
    head = ["runuser", "-u", USER, "--", "env", *pairs]
    return [*head, str(python), "-m", "scitex_container", *args]


def _list_cases(python: Path, image: Path, root: Path, runs: int) -> Iterator[CaseResult]:
    """``session list`` over 200 records: none running, then two running on two nodes."""
    env = {"SCITEX_CONTAINER_SESSIONS_DIR": str(root / "state"), "PATH": os.environ["PATH"]}
    raw = ["runuser", "-u", USER, "--", "squeue", "-h", "--me", "-o", "%i|%T|%N|%r|%j"]
    ours = _cli(python, env, "session", "list")
    floor = _cli(python, env, "--version")
    places = [[], *(["--node", node] for node in _remote_nodes())]
    count = str(LIST_RECORDS - len(places))
    _as_user(str(python), "-c", RECORDS, count, str(image), USER, env=env)
    assert len(list((root / "state").iterdir())) == LIST_RECORDS - len(places)
    yield _list_result(
        compare("CLI start-up (--version) vs raw squeue", floor, raw, runs=runs), None, floor, runs
    )
    yield _list_result(
        compare(f"session list, {LIST_RECORDS} records, none running", ours, raw, runs=runs),
        LIST_TARGET_S,
        ours,
        runs,
    )
    proj = root / "benchlist"
    proj.mkdir(exist_ok=True)
    os.chown(proj, *_ids())
    start = [*_cli(python, env, "session", "start", "--slurm", str(image), "-p", str(proj))]
    for place in places:
        argv = [*start, "--cpus", "1", "--mem-gb", "1", *place]
        subprocess.run(argv, check=True, timeout=300, capture_output=True)
    shown = subprocess.run(_cli(python, env, "--json", "session", "list"), capture_output=True)
    states = sorted(row["state"] for row in json.loads(shown.stdout) if row["state"] != "ended")
    assert states == ["running"] * len(places), f"the cross-check did not confirm: {states}"
    label = f"{len(places)} running on {len(places)} node(s)"
    yield _list_result(
        compare(f"session list, {LIST_RECORDS} records, {label}", ours, raw, runs=runs),
        LIST_TARGET_S,
        ours,
        runs,
    )


def _ids() -> tuple[int, int]:
    user = pwd.getpwnam(USER)
    return user.pw_uid, user.pw_gid


def _cpu_ms(argv: list[str], runs: int) -> float:
    """Median CPU time (user + sys of the command and its children) of ``argv``: what
    the machine's load does not inflate as much as the wall time."""
    samples = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        samples.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(samples) * 1000


def _list_result(result: CaseResult, limit: float | None, ours: list[str], runs: int) -> CaseResult:
    ms = result.ours_median_s * 1000
    where = f"CPU {_cpu_ms(ours, runs):.0f} ms, load {os.getloadavg()[0]:.1f}"
    if limit is None:
        result.target = f"{ms:.0f} ms (context: the CLI's floor; {where})"
        return result
    result.met = result.ours_median_s <= limit
    result.target = (
        f"{ms:.0f} ms (target <= {limit * 1000:.0f} ms), x{result.ratio:.1f} squeue; {where}"
    )
    return result


def cases(runs: int = 5):
    for tool in ("sbatch", "squeue", "apptainer", "runuser"):
        if shutil.which(tool) is None:
            raise FileNotFoundError(f"{tool} is required")
    if os.geteuid() != 0:
        raise FileNotFoundError("root (to run as the test user) is required")
    user = pwd.getpwnam(USER)
    from images import busybox_sif
    from uservenv import user_python

    image = busybox_sif()
    python = user_python(REPO)
    root = Path(tempfile.mkdtemp(prefix="scitex-bench-sessions-", dir="/var/tmp"))
    try:
        subprocess.run(["chown", "-R", f"{USER}:", str(root)], check=True)
        _cleanup(root)
        yield from _list_cases(python, image, root, runs)
        _cleanup(root)
        proj = root / "bench"
        proj.mkdir()
        placements = [("local node", [], "")]
        placements += [
            (f"remote node {node}", ["--node", node], f"-p {REMOTE_PARTITION} -w {node}")
            for node in _remote_nodes()
        ]
        env = {"SCITEX_CONTAINER_SESSIONS_DIR": str(root / "state"), "PATH": os.environ["PATH"]}
        for label, ours_place, raw_place in placements:
            fmt = dict(
                home=user.pw_dir,
                user=USER,
                proj=proj,
                image=image,
                root=root,
                out=root / "raw.out",
                job=root / "raw-job.sh",
                place=raw_place,
            )
            (root / "raw-job.sh").write_text(RAW_JOB.format(**fmt))
            (root / "raw-start.sh").write_text(RAW_START.format(**fmt))
            subprocess.run(["chown", "-R", f"{USER}:", str(root)], check=True)
            _cleanup(root)
            ours = [
                "runuser",
                "-u",
                USER,
                "--",
                "env",
                *(f"{k}={v}" for k, v in env.items()),
                str(python),
                "-m",
                "scitex_container",
                "session",
                "start",
                "--slurm",
                str(image),
                "-p",
                str(proj),
                "--cpus",
                "1",
                "--mem-gb",
                "1",
                *ours_place,
            ]
            raw = ["runuser", "-u", USER, "--", "bash", str(root / "raw-start.sh")]
            result = compare(
                f"session start (submit to ready) vs raw sbatch, {label}",
                ours,
                raw,
                runs=runs,
                setup=lambda: _cleanup(root),
            )
            _cleanup(root)
            extra = result.ours_median_s - result.raw_median_s
            result.met = extra <= 1.0
            result.target = f"ours - raw = {extra * 1000:+.0f} ms (target <= +1000 ms)"
            yield result
    finally:
        _cleanup(root)
        shutil.rmtree(root, ignore_errors=True)
