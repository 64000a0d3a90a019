"""`scitex-container show-status`: the seed's dashboard (Apptainer, host packages, Compose)."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.options import EXISTING, EXISTING_DIR, common_options
from scitex_container.cli.output import emit


def _text(data: dict) -> str:
    app = data["apptainer"]
    lines = ["Apptainer:"]
    if "error" in app:
        lines.append(f"  {app['error']}")
    else:
        lines.append(f"  containers: {app['containers_dir']}")
        lines.append(f"  active:     {app['active'] or '(none)'} ({app['mode'] or '-'})")
        lines.append(f"  versions:   {len(app['versions'])}")
    lines += ["", "Host packages:"]
    for name, info in data["host"].items():
        if isinstance(info, dict):
            state = f"installed ({info.get('version')})" if info.get("installed") else "missing"
            lines.append(f"  {name}: {state}")
    lines += ["", "Docker:"]
    for env, info in data["docker"].items():
        said = info.get("error") or f"{len(info.get('containers', []))} container(s)"
        lines.append(f"  {env}: {said}")
    return "\n".join(lines)


@click.command("show-status")
@click.option("--containers-dir", type=EXISTING_DIR, help="Default: found as for build.")
@click.option("--project-dir", type=EXISTING, help="Where the compose files are.")
@common_options
def show_status(containers_dir, project_dir) -> int:
    """The seed's dashboard: Apptainer versions, host packages, dev/prod Compose stacks.

    Read-only.  (Our `status` is the per-.def rebuild view.)
    """
    from scitex_container.reference.dashboard import status_dashboard

    data = status_dashboard(containers_dir, project_dir)
    emit(data, get_options(), text=_text(data))
    return 0
