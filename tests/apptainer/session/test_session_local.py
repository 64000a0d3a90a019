"""Local sessions (an instance on this host, no scheduler), run as the test user."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from scitex_container.apptainer.session.listing import LOCAL_ENDED

pytestmark = pytest.mark.apptainer


def test_local_start_exec_attach_stop(workspace, user_image: Path) -> None:
    ws = workspace
    dev = ws.root / "devpkg"
    (dev / "src" / "hello").mkdir(parents=True)
    (dev / "src" / "hello" / "__init__.py").write_text("")
    subprocess.run(["chown", "-R", "scitex-test", str(dev)], check=True)
    done = ws.cli(
        "--json",
        "session",
        "start",
        "--local",
        str(user_image),
        "-p",
        str(ws.project),
        "--slug",
        "loc",
        "--dev",
        f"hello={dev}",
    )
    assert done.returncode == 0, done.stderr
    rec = json.loads(done.stdout)
    assert rec["backend"] == "local" and rec["state"] == "running" and not rec["job_id"]
    assert rec["instance"] in ws.instances()

    done = ws.cli(
        "session",
        "exec",
        rec["id"],
        "--",
        "sh",
        "-c",
        'echo "$PYTHONPATH"; ls /opt/dev/hello/src; touch /opt/dev/hello/x 2>/dev/null || echo ro',
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["/opt/dev/hello/src", "hello", "ro"]

    done = ws.cli("session", "attach", rec["id"], input="echo in-$SCITEX_PROJECT\n")
    assert done.returncode == 0 and "in-loc" in done.stdout, done.stderr

    listed = json.loads(ws.cli("--json", "session", "list").stdout)
    assert [(r["id"], r["state"], r["node"]) for r in listed] == [
        (rec["id"], "running", "localhost")
    ]
    # the same thing under the same key in every command's JSON (the old key stays)
    shared = set(rec) & set(listed[0]) - {"state", "node"}
    assert {"id", "project", "instance", "image", "created_at"} <= shared
    assert {k: rec[k] for k in shared} == {k: listed[0][k] for k in shared}
    assert rec["project"] == rec["project_slug"] == "loc"

    # ended outside us: said so (no SLURM record), and stop only forgets it
    assert ws.as_user("apptainer", "instance", "stop", rec["instance"]).returncode == 0
    listed = json.loads(ws.cli("--json", "session", "list").stdout)
    assert [(r["state"], r["reason"]) for r in listed] == [("ended", LOCAL_ENDED)]
    dry = ws.cli("--dry-run", "session", "stop", rec["id"])
    assert dry.returncode == 1 and "# dry run" not in dry.stdout, dry.stdout
    assert f"would remove the record of {rec['id']}" in dry.stdout

    done = ws.cli("--json", "session", "stop", rec["id"])
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["project"] == "loc"
    assert rec["instance"] not in ws.instances()
    assert ws.records() == []


def test_auto_picks_local_without_sbatch(workspace, user_image: Path) -> None:
    """With no ``sbatch`` on PATH the session runs on this host."""
    ws = workspace
    bindir = ws.root / "bin"
    bindir.mkdir()
    for tool in ("apptainer", "squashfuse", "fuse2fs", "fusermount", "fusermount3"):
        for prefix in ("/usr/bin", "/bin", "/usr/sbin", "/sbin"):
            if os.path.exists(f"{prefix}/{tool}"):
                os.symlink(f"{prefix}/{tool}", bindir / tool)
                break
    env = {"PATH": str(bindir)}
    done = ws.cli("--json", "session", "start", str(user_image), "-p", str(ws.project), env=env)
    assert done.returncode == 0, done.stderr
    rec = json.loads(done.stdout)
    assert rec["backend"] == "local" and rec["instance"] in ws.instances()
    assert ws.cli("session", "stop", rec["id"], env=env).returncode == 0
    assert rec["instance"] not in ws.instances()


def _broken_sif(ws) -> Path:
    bad = ws.root / "broken.sif"
    # A SIF header (passes the check before starting) over a body apptainer refuses.
    bad.write_bytes(b"#!/usr/bin/env run-singularity\n".ljust(32, b"\0") + b"SIF_MAGIC" + b"x" * 64)
    bad.chmod(0o644)
    return bad


def test_local_failed_start_leaves_no_instance_and_no_record(workspace) -> None:
    ws = workspace
    before = ws.instances()
    done = ws.cli("session", "start", "--local", str(_broken_sif(ws)), "-p", str(ws.project))
    assert done.returncode == 1 and "did not start" in done.stderr, done.stderr
    assert ws.records() == [], "a failed start is cleaned up, as on SLURM"
    assert not any(ws.state.iterdir())
    assert ws.instances() <= before
    listed = ws.cli("--json", "session", "list")
    assert listed.returncode == 0 and json.loads(listed.stdout) == []


def test_local_failed_start_is_kept_with_keep_failed(workspace) -> None:
    ws = workspace
    bad = _broken_sif(ws)
    done = ws.cli("session", "start", "--local", "--keep-failed", str(bad), "-p", str(ws.project))
    assert done.returncode == 1 and "did not start" in done.stderr, done.stderr
    (rec,) = ws.records()
    assert rec["state"] == "failed" and rec["instance"] not in ws.instances()
    assert (ws.state / rec["id"] / "session.json").stat().st_mode & 0o777 == 0o600
    listed = json.loads(ws.cli("--json", "session", "list").stdout)
    assert [(r["id"], r["state"]) for r in listed] == [(rec["id"], "failed")]
    assert ws.cli("session", "stop", rec["id"]).returncode == 0
    assert ws.records() == []


@pytest.mark.skipif(
    not os.path.exists("/usr/bin/pdftex"), reason="needs texlive-latex-base on the host"
)
def test_host_texlive_runs_inside_a_session(workspace, user_image: Path) -> None:
    """``--texlive /usr`` binds the host's TeX Live: it runs in an image that has none."""
    ws = workspace
    done = ws.cli(
        "--json",
        "session",
        "start",
        "--local",
        str(user_image),
        "-p",
        str(ws.project),
        "--texlive",
        "/usr",
    )
    assert done.returncode == 0, done.stderr
    rec = json.loads(done.stdout)
    done = ws.cli(
        "session",
        "exec",
        rec["id"],
        "--",
        "sh",
        "-c",
        "/usr/bin/pdftex --version; PATH=/usr/bin:$PATH kpsewhich article.cls",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("pdfTeX") and done.stdout.rstrip().endswith("/article.cls")
    assert ws.cli("session", "stop", rec["id"]).returncode == 0


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP"])
def test_signal_during_a_local_start_leaves_nothing(
    workspace, user_image: Path, signame: str
) -> None:
    """A signal while the instance starts stops what the start began and drops its record;
    a start that won the race left a session that runs (and is stopped here)."""
    import signal
    import time

    from signals import default_signals

    ws = workspace
    before = ws.instances()
    argv = ws.argv("--json", "session", "start", "--local", str(user_image), "-p", str(ws.project))
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_signals,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while not any(ws.state.iterdir()) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    os.killpg(proc.pid, getattr(signal, signame))
    out, err = proc.communicate(timeout=120)
    if proc.returncode == 0:  # the instance was up before the signal
        rec = json.loads(out)
        assert ws.cli("session", "stop", rec["id"]).returncode == 0
    assert ws.records() == [], err
    assert ws.instances() <= before, "an interrupted start left its instance running"
