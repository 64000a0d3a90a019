"""Local backend: a session is an Apptainer instance on this host (no scheduler).

``instance start`` returns once the instance runs, so no keep-alive job or
marker is needed; the instance is then confirmed by exact name in
``instance list --json``.  A start that does not confirm stops whatever it
began.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence

from scitex_container import runner
from scitex_container.apptainer.session import records
from scitex_container.apptainer.session import validate as v
from scitex_container.apptainer.session.argv import instance_exec_args
from scitex_container.apptainer.session.records import SessionRecord
from scitex_container.apptainer.session.spec import SessionSpec, plan
from scitex_container.apptainer.tool import detect_container_cmd
from scitex_container.errors import CheckFailedError, ProcessError

START_TIMEOUT = 300.0


def local_instance_name(base: str) -> str:
    return v.instance_name(f"{base}-{secrets.token_hex(4)}")


def running_instances(container_cmd: str) -> set[str]:
    """Names of this user's instances on this host."""
    out = runner.run(
        [container_cmd, "instance", "list", "--json"], readonly=True, timeout=60
    ).stdout
    try:
        data = json.loads(out or "{}")
    except json.JSONDecodeError:
        return set()
    items = (data.get("instances") or []) if isinstance(data, dict) else []
    return {str(i.get("instance")) for i in items if isinstance(i, dict)}


def _stop(container_cmd: str, name: str) -> None:
    runner.run([container_cmd, "instance", "stop", "--timeout", "3", name], check=False, timeout=60)


def start(
    record: SessionRecord, spec: SessionSpec, *, base_name: str, timeout: float
) -> SessionRecord:
    p = plan(spec)
    name = local_instance_name(base_name)
    records.create_dir(record.id)
    record = records.save(record.with_(instance=name))
    argv = [p.container_cmd, "instance", "start", *p.flags, p.image, name]
    try:
        runner.run(argv, timeout=min(timeout, START_TIMEOUT))
        if not runner.is_dry_run() and name not in running_instances(p.container_cmd):
            raise CheckFailedError(
                f"session {record.id}: instance {name} is not running after its start"
            )
    except ProcessError as exc:
        _stop(p.container_cmd, name)
        records.save(record.with_(state="failed"))
        raise CheckFailedError(f"session {record.id}: the instance did not start: {exc}") from None
    except BaseException:
        _stop(p.container_cmd, name)
        records.save(record.with_(state="failed"))
        raise
    if runner.is_dry_run():
        return record.with_(state="planned")
    return records.save(record.with_(state="running", node="localhost"))


def step_argv(record: SessionRecord, argv: Sequence[str], *, pty: bool = False) -> list[str]:
    del pty  # a local exec uses our own terminal directly
    return instance_exec_args(
        detect_container_cmd(), record.instance, argv, record.env, record.workdir
    )


def live_state(record: SessionRecord, running: set[str]) -> tuple[str, str]:
    if record.instance and record.instance in running:
        return "running", "localhost"
    if record.state in ("failed", "planned"):
        return record.state, ""
    return "ended", ""


def require_running(record: SessionRecord) -> None:
    state, _ = live_state(record, running_instances(detect_container_cmd()))
    if state != "running":
        raise CheckFailedError(f"session {record.id} is not running (state: {state})")


def stop(record: SessionRecord) -> None:
    if not record.instance:
        return
    if record.instance in running_instances(detect_container_cmd()):
        _stop(detect_container_cmd(), record.instance)
    if not runner.is_dry_run() and record.instance in running_instances(detect_container_cmd()):
        raise CheckFailedError(
            f"session {record.id}: instance {record.instance} still runs after stop"
        )
