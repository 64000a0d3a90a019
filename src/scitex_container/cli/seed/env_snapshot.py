"""`scitex-container env-snapshot` / `save-env-snapshot`: the seed's names of `snapshot`.

As the seed's command they print a readable summary unless ``--json`` (or
``-o FILE``) is given; with either they are exactly `snapshot`.
"""

from __future__ import annotations

import copy
from typing import Any

import click

from scitex_container.cli.options import TidyPath
from scitex_container.cli.seed.apply import alias


def summary(snap: dict) -> str:
    """The seed's readable layout: schema, timestamp, container, host packages, repos, locks."""
    container = snap.get("container") or {}
    lines = [
        "Environment snapshot",
        f"  Schema:    {snap.get('schema_version')}",
        f"  Timestamp: {snap.get('timestamp')}",
        "",
        "Container:",
        f"  Version:   {container.get('version') or '(none)'}",
    ]
    if container.get("sif_path"):
        lines.append(f"  SIF:       {container['sif_path']}")
    if container.get("sif_sha256"):
        lines.append(f"  SHA256:    {container['sif_sha256'][:16]}...")
    lines += ["", "Host packages:"]
    for name, info in (snap.get("host") or {}).items():
        state = f"installed ({info['version']})" if info.get("installed") else "not installed"
        lines.append(f"  {name}: {state}")
    lines += ["", "Dev repos:"]
    for repo in snap.get("dev_repos") or []:
        said = repo.get("error") or (
            repo.get("commit", "")[:12] + (" dirty" if repo["dirty"] else "")
        )
        lines.append(f"  {repo['name']}: {said}")
    lines += ["", "Lock files:"]
    lines += [f"  {kind}: {sha[:16]}..." for kind, sha in (snap.get("lock_files") or {}).items()]
    if snap.get("errors"):
        lines += ["", f"{len(snap['errors'])} part(s) could not be determined (see --json)."]
    return "\n".join(lines)


def _seed_named(name: str) -> click.Command:
    ours = alias(name, "snapshot")
    for index, param in enumerate(ours.params):
        if param.name == "dev_repos":  # the seed recorded a missing repo (with an error)
            loose = copy.copy(param)
            loose.type = TidyPath(file_okay=False)
            ours.params[index] = loose
    inner = ours.callback
    assert inner is not None

    def callback(**kwargs: Any) -> Any:
        from scitex_container.cli.context import get_options

        opts = get_options()
        if opts.json or opts.dry_run or kwargs.get("output"):
            return inner(**kwargs)
        from scitex_container.host.snapshot import env_snapshot

        dev_repos = list(kwargs.get("dev_repos") or ())
        click.echo(summary(env_snapshot(kwargs.get("containers_dir"), dev_repos)))
        return 0

    ours.callback = callback
    ours.help = (ours.help or "") + "  Without --json: a readable summary, as the seed printed."
    return ours


env_snapshot = _seed_named("env-snapshot")
save_env_snapshot = _seed_named("save-env-snapshot")
