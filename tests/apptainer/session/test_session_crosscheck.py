"""``session list`` cross-checks a running job's instance instead of trusting squeue alone.

The state logic is tested alone on made-up views (our own logic); the real case
stops an instance inside a running job (its batch script frozen, so the job's own
poll cannot end the job first) and ``list`` must say ``instance-gone``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import pytest
from sessionkit import batch_script_frozen, wait_until

from scitex_container.apptainer.session import instances, listing, slurm
from scitex_container.apptainer.session.listing import InstanceCheck
from scitex_container.apptainer.session.records import SessionRecord
from scitex_container.apptainer.session.slurm import JobState


def _rec(job: str = "42", instance: str = "sx-u-p-42") -> SessionRecord:
    return SessionRecord(
        id="p-abc123",
        backend="slurm",
        image="/i.sif",
        username="u",
        project_slug="p",
        instance=instance,
        job_id=job,
        state="running",
    )


RUNNING = {"42": JobState("42", "RUNNING", "n1")}


@pytest.mark.parametrize(
    ("outcome", "on_node", "want"),
    [
        ({"p-abc123": "ready"}, {"n1": {"sx-u-p-42", "other"}}, "running"),
        ({"p-abc123": "ready"}, {"n1": {"other"}}, "instance-gone"),
        ({"p-abc123": "ready"}, {"n1": set()}, "instance-gone"),
        ({"p-abc123": "ready"}, {"n1": None}, "running (unconfirmed)"),
        ({"p-abc123": "ready"}, {}, "running (unconfirmed)"),
        ({}, {}, "starting"),
        ({"p-abc123": "failed"}, {}, "failed"),
    ],
)
def test_running_job_state_follows_the_instance_check(outcome, on_node, want) -> None:
    check = InstanceCheck(outcome, on_node)
    assert listing.slurm_state(_rec(), RUNNING, check) == (want, "n1")


def test_without_a_check_or_a_running_job_squeue_decides() -> None:
    assert slurm.live_state(_rec(), RUNNING) == ("running", "n1")
    gone_check = InstanceCheck({"p-abc123": "ready"}, {"n1": set()})
    pending = {"42": JobState("42", "PENDING", "", "Resources")}
    assert listing.slurm_state(_rec(), pending, gone_check) == ("pending (Resources)", "")
    assert listing.slurm_state(_rec(), {}, gone_check) == ("ended", "")
    completing = {"42": JobState("42", "COMPLETING", "n1")}
    assert listing.slurm_state(_rec(), completing, gone_check) == ("completing", "n1")


def test_squeue_lines_are_parsed_with_the_job_name_last() -> None:
    text = (
        "12|RUNNING|n1|None|scitex_u_p\n"
        "13|PENDING||Resources|odd|name\n"
        "x|RUNNING|n1|None|bad id\n"
        "14|RUNNING|n2|None\n"
    )
    jobs = slurm.parse_squeue(text)
    assert jobs == {
        "12": JobState("12", "RUNNING", "n1", "", "scitex_u_p"),
        "13": JobState("13", "PENDING", "", "Resources", "odd|name"),
    }


def test_one_job_step_per_single_node() -> None:
    pairs = [("7", "n1"), ("3", "n1"), ("9", "n2"), ("5", "n[1-2]"), ("6", "a,b"), ("8", "")]
    assert instances.one_job_per_node(pairs) == {"n1": "3", "n2": "9"}


def test_instance_list_json_is_parsed_or_refused() -> None:
    text = json.dumps({"instances": [{"instance": "a", "pid": 1}, {"instance": "b"}]})
    assert instances.names_from_json(text) == {"a", "b"}
    assert instances.names_from_json('{"instances": null}') == set()
    assert instances.names_from_json("") == set()
    assert instances.names_from_json("FATAL: no") is None
    assert instances.names_from_json('{"instances": "x"}') is None
    assert instances.names_from_json("[1]") is None


def _listed(ws) -> list[tuple[str, str, str]]:
    done = ws.cli("--json", "session", "list")
    assert done.returncode == 0, done.stderr
    return [(r["id"], r["state"], r["node"]) for r in json.loads(done.stdout)]


@pytest.mark.slurm
@pytest.mark.apptainer
def test_list_reports_an_instance_gone_from_its_running_job(workspace, user_image: Path) -> None:
    ws = workspace
    rec = ws.start_json(user_image, "--slug", "gone")
    job, name, node = rec["job_id"], rec["instance"], rec["node"]
    assert _listed(ws) == [(rec["id"], "running", node)]
    with batch_script_frozen(job):
        done = ws.as_user(
            "srun", "--overlap", f"--jobid={job}", "apptainer", "instance", "stop", name
        )
        assert done.returncode == 0, done.stderr
        assert job in ws.active_jobs(), "the job runs on: only its instance is gone"
        assert _listed(ws) == [(rec["id"], "instance-gone", node)]
        done = ws.cli("session", "exec", rec["id"], "--", "true")
        assert done.returncode != 0
    # Let go, the job's own poll notices and ends the job.
    assert wait_until(lambda: job not in ws.active_jobs(), timeout=60)
    assert _listed(ws) == [(rec["id"], "ended", "")]


class _ScriptedNodes:
    """Stands in for the job steps (our own logic alone): each new listing answers
    the next of ``script``."""

    script: ClassVar[list[dict[str, set[str] | None]]] = []

    def __init__(self, container_cmd: str) -> None:
        self._asked: dict[str, str] = {}
        self._answer = type(self).script.pop(0)

    def ask(self, node: str, job_id: str) -> None:
        self._asked.setdefault(node, job_id)

    def asked(self) -> set[str]:
        return set(self._asked)

    def answers(self) -> dict[str, set[str] | None]:
        return {node: self._answer.get(node) for node in self._asked}


@pytest.mark.parametrize(
    ("second", "want"),
    [({"n1": {"sx-u-p-42"}}, "running"), ({"n1": set()}, "instance-gone")],
)
def test_an_early_listing_that_missed_a_ready_instance_is_asked_again(
    monkeypatch, second, want
) -> None:
    """The early step may list a node just before the instance there becomes ready:
    instance-gone is said only after a listing begun once the marker was read."""
    monkeypatch.setattr(instances, "NodeListing", _ScriptedNodes)
    monkeypatch.setattr(slurm, "job_outcome", lambda rec: ("ready", ""))
    monkeypatch.setattr(listing, "detect_container_cmd", lambda: "apptainer")
    _ScriptedNodes.script = [{"n1": set()}, second]
    jobs = {"42": JobState("42", "RUNNING", "n1", "", "scitex_u_p")}
    nodes = listing._ask_early(jobs)
    check = listing._check([_rec()], jobs, nodes)
    assert listing.slurm_state(_rec(), jobs, check) == (want, "n1")
    assert _ScriptedNodes.script == []
