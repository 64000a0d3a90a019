"""Local backend: a session is an Apptainer instance on this host (no scheduler).

``instance start`` returns once the instance runs, so no keep-alive job or
marker is needed; the instance is then confirmed by exact name in
``instance list --json``.  A start that does not confirm (or ends by a
signal) stops whatever it began and removes its record unless asked to keep
it.
"""

from __future__ import annotations

from collections.abc import Sequence

from scitex_container.apptainer.session import instances, records
from scitex_container.apptainer.session import validate as v
from scitex_container.apptainer.session.argv import instance_exec_args
from scitex_container.apptainer.session.records import SessionRecord
from scitex_container.apptainer.session.spec import SessionSpec, plan
from scitex_container.apptainer.tool import detect_container_cmd
from scitex_container.errors import CheckFailedError, ProcessError
from scitex_container.process import interrupts, runner

START_TIMEOUT = 300.0


def local_instance_name(base: str) -> str:
    import secrets

    return v.instance_name(f"{base}-{secrets.token_hex(4)}")


def running_instances(container_cmd: str) -> set[str]:
    """Names of this user's instances on this host.

    Raises:
        ProcessError: the listing failed (nothing is assumed stopped).
    """
    done = runner.run(instances.list_argv(container_cmd), readonly=True, timeout=60)
    return instances.names_from_json(done.stdout) or set()


def _stop(container_cmd: str, name: str) -> None:
    runner.run([container_cmd, "instance", "stop", "--timeout", "3", name], check=False, timeout=60)


def start(
    record: SessionRecord,
    spec: SessionSpec,
    *,
    base_name: str,
    timeout: float,
    keep_failed: bool = False,
) -> SessionRecord:
    """Start the session's instance on this host and confirm it by name.

    A start that fails or ends by a signal (INT, TERM, HUP) stops whatever it
    began and removes the session's record (``keep_failed`` keeps it, state
    ``failed``, for debugging), as a failed SLURM start does.
    """
    p = plan(spec)
    name = local_instance_name(base_name)
    records.create_dir(record.id)
    argv = [p.container_cmd, "instance", "start", *p.flags, p.image, name]
    with interrupts.raising():
        try:
            record = records.save(record.with_(instance=name))
            try:
                runner.run(argv, timeout=min(timeout, START_TIMEOUT))
            except ProcessError as exc:
                raise CheckFailedError(
                    f"session {record.id}: the instance did not start: {exc}"
                ) from None
            if not runner.is_dry_run() and name not in running_instances(p.container_cmd):
                raise CheckFailedError(
                    f"session {record.id}: instance {name} is not running after its start"
                )
        except BaseException:
            _fail(record, p.container_cmd, keep_failed)
            raise
    if runner.is_dry_run():
        return record.with_(state="planned")
    return records.save(record.with_(state="running", node="localhost"))


def _fail(record: SessionRecord, container_cmd: str, keep: bool) -> None:
    """Stop what a failed start began; drop its record (or keep it, ``failed``)."""
    with interrupts.ignored():
        if record.instance and not runner.is_dry_run():
            _stop(container_cmd, record.instance)
        records.drop_failed(record, keep)


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
