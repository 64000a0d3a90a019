"""`scitex-container list-python-apis`: the public Python API, module by module (the seed's)."""

from __future__ import annotations

import click

from scitex_container.cli.context import get_options
from scitex_container.cli.options import common_options
from scitex_container.cli.output import dumps

MODULES = ("apptainer", "docker", "host")


def _entry(name: str, obj: object) -> dict:
    import inspect

    entry: dict = {"name": name}
    if isinstance(obj, type):
        entry["kind"] = "class"
    elif callable(obj):
        entry["kind"] = "callable"
        try:
            entry["signature"] = str(inspect.signature(obj))
        except (TypeError, ValueError):
            entry["signature"] = "()"
    else:
        entry["kind"] = "value"
    doc = inspect.getdoc(obj) if entry["kind"] != "value" else None
    if doc:
        entry["doc"] = doc.splitlines()[0].strip()
    return entry


@click.command("list-python-apis")
@click.option("-v", "--verbose", count=True, help="-v with signatures, -vv also docstrings.")
@common_options
def list_python_apis(verbose: int) -> int:
    """List the public Python API of scitex_container.apptainer, .docker and .host."""
    import importlib

    modules = {}
    for name in MODULES:
        module = importlib.import_module(f"scitex_container.{name}")
        names = getattr(module, "__all__", None) or [n for n in dir(module) if n[0] != "_"]
        modules[name] = [_entry(n, getattr(module, n)) for n in sorted(names)]
    if get_options().json:
        click.echo(dumps({"package": "scitex_container", "modules": modules}))
        return 0
    lines: list[str] = []
    for name, entries in modules.items():
        lines.append(f"{name}: {len(entries)} APIs")
        for e in entries:
            shown = e["name"] + (e.get("signature", "") if verbose else "")
            lines.append(f"  {shown}" + ("  [class]" if e["kind"] == "class" else ""))
            if verbose > 1 and e.get("doc"):
                lines.append(f"    {e['doc']}")
        lines.append("")
    click.echo("\n".join(lines))
    return 0
