"""One tool call: check the client's arguments, build the CLI's argv, run it in-process.

The arguments are checked against the tool's JSON schema first (a wrong
type, a missing or unknown field is refused naming the field), then every
path is confined to the server's roots (``SCITEX_CONTAINER_MCP_ROOTS``,
default the working directory) and freed of control characters with the
package's path rules; so are the paths a command would pick by itself (a
.def found by name, the containers directory of an omitted store).  Only
then is an argv list built, options as ``--flag=value`` and every
positional after ``--``, so no value can become an option, and the CLI
runs with ``--json``: a tool returns exactly the JSON the command prints
(its ``to_dict()`` result or its error object), validated as the CLI
validates.  Reads and dry runs run in this process (quick, one at a time);
a step that changes something runs as a child process through the process
runner, so the server answers other calls while it runs.  Nothing goes
through a shell.
"""

from __future__ import annotations

import io
import json
import os
import threading
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from typing import Any

from scitex_container import envvars
from scitex_container.errors import EXIT_BAD_INPUT, BadInputError
from scitex_container.mcp.tool_spec import Param, ToolSpec
from scitex_container.paths import no_control

#: One in-process call at a time: the CLI's output streams are the process's.
_CALL_LOCK = threading.Lock()


def roots() -> list[str]:
    """The directories a client may name paths under (real paths)."""
    raw = os.environ.get(envvars.MCP_ROOTS, "")
    listed = [p for p in raw.split(os.pathsep) if p] or [os.getcwd()]
    return [os.path.realpath(p) for p in listed]


def confine(value: str, field: str, allowed: list[str]) -> str:
    """``value`` as an absolute path, refused when it (or its link target) leaves ``allowed``."""
    no_control(value, field)
    absolute = os.path.abspath(value)
    real = os.path.realpath(absolute)
    if not any(real == r or real.startswith(r.rstrip("/") + "/") for r in allowed):
        raise BadInputError(
            f"`{value}` is outside the directories this server may touch ({', '.join(allowed)})",
            field,
        )
    return absolute


def _schema_error(spec: ToolSpec, arguments: dict[str, Any]) -> None:
    import jsonschema  # type: ignore[import-untyped]

    validator = jsonschema.Draft202012Validator(spec.input_schema())
    errors = sorted(validator.iter_errors(arguments), key=lambda e: list(e.absolute_path))
    if not errors:
        return
    err = errors[0]
    if err.absolute_path:
        field = str(err.absolute_path[0])
    elif err.validator == "required":
        field = str(err.message.split("'")[1])
    elif err.validator == "additionalProperties":
        extra = sorted(set(arguments) - set(spec.input_schema()["properties"]))
        field = extra[0] if extra else "arguments"
        raise BadInputError(f"unknown argument of tool `{spec.name}`", field)
    else:
        field = "arguments"
    raise BadInputError(err.message, field)


def _value(p: Param, arguments: dict[str, Any]) -> tuple[str, Any]:
    given = [n for n in (p.name, *p.aliases) if n in arguments]
    if len(given) > 1:
        raise BadInputError(f"give one of {', '.join(given)}", given[1])
    if not given:
        if p.required:
            raise BadInputError("is required", p.name)
        return p.name, p.default
    return given[0], arguments[given[0]]


def _strings(p: Param, field: str, value: Any, allowed: list[str]) -> list[str]:
    """The command-line values of one input (empty: leave the option out)."""
    if value is None or value is False:
        return []
    if p.kind == "bool":
        return [""]
    if p.kind == "int":
        return [str(int(value))]
    if p.kind == "paths":
        items = value.split(",") if isinstance(value, str) else list(value)
        return [confine(i.strip(), field, allowed) for i in items if i.strip()]
    if p.kind == "path":
        return [confine(value, field, allowed)]
    no_control(value, field)
    if p.name == "definition":
        if "/" in value or value.endswith(".def"):
            return [confine(value, field, allowed)]  # a path, not a name
        found = _def_by_name(value)  # a name: the file it names must be inside too
        if found is not None:
            return [confine(found, field, allowed)]
    return [value]


def _def_by_name(name: str) -> str | None:
    from scitex_container.apptainer.deffile.lookup import resolve_def
    from scitex_container.errors import NotFoundError

    try:
        return str(resolve_def(name, None))
    except NotFoundError:
        return None  # the command says what is missing


def _resolved_default(p: Param) -> str | None:
    """What the command would use for an omitted ``p`` (None: nothing to confine)."""
    kind = p.resolve_default
    if kind == "cwd":  # the command works where it is started
        return os.getcwd()
    if kind == "home":  # the session's home: the CLI's default, the caller's own
        from scitex_container.apptainer.session.api import current_user

        return current_user()[1]
    if kind == "deploy_target":
        from scitex_container.apptainer.store.deploy import DEFAULT_TARGET

        return str(DEFAULT_TARGET)
    if kind == "active_image":
        return _active_image(p.name)
    if kind != "containers_dir":
        return None
    return _containers_dir()


def _containers_dir() -> str | None:
    from scitex_container.apptainer.deffile.lookup import find_containers_dir
    from scitex_container.errors import NotFoundError

    try:
        return str(find_containers_dir())
    except NotFoundError:
        return None


def _active_image(field: str) -> str:
    """The active image of the containers directory (the seed's ``verify`` default)."""
    from scitex_container.apptainer.store.implied import implied_image
    from scitex_container.errors import NotFoundError

    try:
        return str(implied_image(field))
    except NotFoundError:
        raise BadInputError("no containers directory found: give the image", field) from None


def build_argv(spec: ToolSpec, arguments: dict[str, Any] | None) -> list[str]:
    """The CLI argv for a call, or :class:`BadInputError` naming the field; runs nothing.

    An argument given as ``""`` is not given (the seed's tools default to ``""``).
    """
    arguments = {k: v for k, v in (arguments or {}).items() if v != ""}
    _schema_error(spec, arguments)
    allowed = roots()
    argv = ["--json", "-q"]
    if arguments.pop("dry_run", False):
        argv.append("--dry-run")
    argv += list(spec.command)
    positionals: list[str] = []
    gap: str | None = None  # an omitted positional that a later one would take the place of
    for p in spec.params:
        field, value = _value(p, arguments)
        defaulted = value is None and p.resolve_default is not None
        if defaulted:
            value = _resolved_default(p)
        try:
            texts = _strings(p, field, value, allowed)
        except BadInputError as exc:
            if not defaulted:
                raise
            raise BadInputError(f"{exc.detail} (the default): give `{field}`", field) from None
        if p.name in ("definition", "source") and texts:
            from scitex_container.mcp.build_scope import check_def

            check_def(texts[0], allowed, field)
        if p.flag is None:
            if texts and gap is not None:
                raise BadInputError("is required when a later argument is given", gap)
            if not texts:
                gap = gap or field
            positionals += texts
            continue
        for text in texts:
            argv.append(p.flag if p.kind == "bool" else f"{p.flag}={text}")
    if spec.command == ("session", "stop"):
        from scitex_container.mcp.session_scope import check_stop

        check_stop(positionals[0] if positionals else "", allowed)
    if spec.when_none and not any(arguments.get(n) for n in spec.when_none[0]):
        argv.append(spec.when_none[1])
    return [*argv, "--", *positionals] if positionals else argv


@dataclass(frozen=True)
class CallOutcome:
    """What the command printed as JSON, its exit code and its stderr lines."""

    exit_code: int
    payload: Any
    log: str
    dry_run: bool = False

    @property
    def bad_input(self) -> bool:
        return self.exit_code == EXIT_BAD_INPUT

    @property
    def is_error(self) -> bool:
        """An error object, or any non-zero exit (a failed check: drift, tampering,
        unverified) except a dry run's 1, which means "something would change"."""
        if isinstance(self.payload, dict) and "error" in self.payload:
            return True
        return self.exit_code != 0 and not (self.dry_run and self.exit_code == 1)

    def to_dict(self) -> dict[str, Any]:
        """The error object as the CLI prints it, else ``{exit_code, result[, log]}``."""
        if isinstance(self.payload, dict) and "error" in self.payload:
            return dict(self.payload)
        out: dict[str, Any] = {"exit_code": self.exit_code, "result": self.payload}
        if self.log:
            out["log"] = self.log
        return out


def _outcome(code: int, text: str, log: str, argv: list[str]) -> CallOutcome:
    try:
        payload: Any = json.loads(text) if text.strip() else None
    except json.JSONDecodeError:
        payload = {"output": text}
    if code == 0 and argv[-2:] == ["session", "list"]:  # only the roots' sessions
        from scitex_container.mcp.session_scope import visible

        payload = visible(payload, roots())
    return CallOutcome(code, payload, log, dry_run="--dry-run" in argv)


def runs_apart(spec: ToolSpec, argv: list[str]) -> bool:
    """Whether a call runs in a child process: a step that changes something (a
    build, a session...) may take minutes, and the server answers other calls
    meanwhile; reads and dry runs are quick and run in this process."""
    return spec.mutating and "--dry-run" not in argv


def run_cli_apart(argv: list[str]) -> CallOutcome:
    """Run the CLI with ``argv`` as a child process (same environment and directory)
    through the process runner, no shell.  Blocking; the server calls it from a
    worker thread.

    The child runs as a user's shell would run it: in its own process group
    (an interrupt or a cancel reaches it, and it cleans up as the CLI does),
    dying with the server, but *not* contained in a PID namespace that kills
    everything on exit: what the command is meant to leave running (a
    session's instance, a Compose stack, an instance) outlives the call, as
    it does when the CLI is run directly.  A build the child starts is
    contained by the child itself, so a killed server still leaves none.
    """
    import sys

    from scitex_container.process import runner

    done = runner.run([sys.executable, "-m", "scitex_container", *argv], check=False)
    return _outcome(done.returncode, done.stdout, done.stderr, argv)


def run_cli(argv: list[str]) -> CallOutcome:
    """Run the CLI with ``argv`` in this process; its output is captured, never printed."""
    from scitex_container.cli.main import main as cli_main

    out, err = io.StringIO(), io.StringIO()
    code: int = 0
    with _CALL_LOCK, redirect_stdout(out), redirect_stderr(err):
        try:
            cli_main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return _outcome(code, out.getvalue(), err.getvalue(), argv)
