"""A tool's declaration: its inputs (:class:`Param`) and the command it runs (:class:`ToolSpec`).

The JSON schema a client sees comes from here; :mod:`.tool_call` builds the
argv from the same declaration.  Nothing here runs anything.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Parameter kinds: ``path`` (confined to the server's roots), ``text`` (a name or
#: value; never starts with ``-``), ``bool`` (a flag), ``int``, ``paths`` (a list).
KINDS = ("path", "text", "bool", "int", "paths")


@dataclass(frozen=True)
class Param:
    """One tool input: its JSON name, kind and where it goes on the command line.

    ``flag`` is the CLI option (``--def``); ``None`` makes it a positional
    argument, in declaration order.  ``aliases`` are the seed's names for it.
    """

    name: str
    kind: str
    description: str
    flag: str | None = None
    required: bool = False
    aliases: tuple[str, ...] = ()
    enum: tuple[str, ...] = ()
    default: Any = None
    #: Resolve an omitted value (``containers_dir``: the containers directory) so
    #: that what the command would use by default is confined like a given path.
    resolve_default: str | None = None

    def schema(self) -> dict[str, Any]:
        """The JSON schema of this input."""
        out: dict[str, Any]
        if self.kind == "bool":
            out = {"type": "boolean"}
        elif self.kind == "int":
            out = {"type": "integer", "minimum": 0}
        elif self.kind == "paths":
            out = {
                "anyOf": [
                    {"type": "array", "items": {"type": "string", "minLength": 1}},
                    {"type": "string", "description": "comma-separated (the seed's form)"},
                ]
            }
        else:
            out = {"type": "string"}  # "" means "not given", as in the seed's tools
            if self.kind == "text":
                out["pattern"] = "^(?!-)"  # never read as an option
        if self.enum:
            out["enum"] = list(self.enum)
        if self.default is not None:
            out["default"] = self.default
        out["description"] = self.description
        return out


@dataclass(frozen=True)
class ToolSpec:
    """A tool: the CLI command it runs and its inputs (``mutating`` ones accept ``dry_run``)."""

    name: str
    command: tuple[str, ...]
    description: str
    params: tuple[Param, ...] = ()
    mutating: bool = False
    seed_names: tuple[str, ...] = field(default=())
    #: ``(inputs, flag)``: when none of ``inputs`` is set, add ``flag`` (the
    #: seed's ``host_install`` installs everything when no group is chosen).
    when_none: tuple[tuple[str, ...], str] | None = None

    def input_schema(self) -> dict[str, Any]:
        """The tool's JSON schema: every input named, nothing else accepted."""
        props: dict[str, Any] = {}
        for p in self.params:
            props[p.name] = p.schema()
            for alias in p.aliases:
                props[alias] = {**p.schema(), "description": f"The seed's name for `{p.name}`."}
        if self.mutating:
            props["dry_run"] = {
                "type": "boolean",
                "description": "Report the commands that would run; change nothing.",
            }
        schema: dict[str, Any] = {
            "type": "object",
            "properties": props,
            "additionalProperties": False,
        }
        required = [p.name for p in self.params if p.required and not p.aliases]
        if required:
            schema["required"] = required
        return schema


#: The sentence every mutating tool's description ends with.
DRY_NOTE = "Accepts dry_run."

#: A Compose stack's environment (``docker-compose.<env>.yml``) and directory.
COMPOSE_ENV = Param("env", "text", "Environment: docker-compose.<env>.yml.", "--env", default="dev")
COMPOSE_PROJECT = Param(
    "project_dir",
    "path",
    "Directory of the compose file.",
    flag="--project-dir",
    resolve_default="cwd",
)
