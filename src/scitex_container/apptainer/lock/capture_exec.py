"""Capture installed versions by asking the tools inside the container, once.

The fallback for images that cannot be read statically.  ONE
``apptainer exec --cleanenv --no-home --containall IMAGE sh -c SCRIPT`` runs
``dpkg-query``, ``pip freeze --all`` for every Python environment (the
system's interpreters, and ``P/bin/python3`` of every prefix ``P`` with
``P/lib/python3*/site-packages`` under ``/opt/*``, ``/opt/*/envs/*``, a
top-level virtualenv with ``pyvenv.cfg`` or on the runtime ``PATH``; isolated:
``python -I``, ``pip --isolated``), ``npm list -g --depth=0 --json`` and reads
the apk database; each block of output follows a ``@@scitex:<section>`` marker
line.  The host environment cannot leak in: ``--cleanenv`` drops the host's
variables, ``--no-home --containall`` keep the host home (user site-packages,
``~/.npmrc``, ``~/.config/pip``) out, and the variables apptainer would
forward on its own (``APPTAINERENV_*``, bind lists) are removed from the
command's environment.  The output goes through the same rules as the
static capture (:mod:`.capture_static`), so both give the same version set;
each Python distribution's metadata directory and each npm global's
directory are printed too, with the dpkg file-list lines that name them,
so both also mark the same entries ``provided-by`` dpkg.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from scitex_container.apptainer import tool
from scitex_container.apptainer.lock.found import Found, dpkg_owners, pip_manager
from scitex_container.apptainer.lock.lockfile import node_versions
from scitex_container.apptainer.lock.pkgdb import (
    apk_versions,
    dpkg_config_files,
    dpkg_versions,
    freeze_lines_to_map,
)
from scitex_container.apptainer.lock.pyenvs import (
    choose_primary,
    environment_of,
    runtime_environment,
)
from scitex_container.apptainer.lock.syntax import PipMap
from scitex_container.process import runner

MARK = "@@scitex:"

#: Interpreters asked, matching the site directories the static capture reads.
SCRIPT = r"""
export LC_ALL=C
_scx_paths=''
_scx_dists='import importlib.metadata as m
for d in m.distributions():
    p, n = getattr(d, "_path", None), d.metadata["Name"]
    if p is not None and n:
        print(n + "\t" + str(p))'
echo '@@scitex:dpkg'
if command -v dpkg-query >/dev/null 2>&1; then
    dpkg-query -W -f='${Package}\t${Architecture}\t${Version}\t${Status}\n' 2>/dev/null
    echo '@@scitex:dpkg-arch'
    dpkg --print-architecture 2>/dev/null
fi
echo '@@scitex:runtime'
_scx_rt=$(command -v pip 2>/dev/null || command -v pip3 2>/dev/null || true)
if [ -n "$_scx_rt" ]; then
    printf '%s\n' "$_scx_rt"
    _scx_sb=$(sed -n '1s/^#![[:space:]]*//p' "$_scx_rt" 2>/dev/null)
    printf '%s\n' "$_scx_sb"
    case "$_scx_sb" in */env\ *) command -v "${_scx_sb##* }" 2>/dev/null ;; esac
fi
# other environments: a prefix P with P/bin/python3 and P/lib/python3*/site-packages
# under /opt/*, /opt/*/envs/*, or a top-level virtualenv (P/pyvenv.cfg), or on PATH
_scx_envs=''
_scx_onpath=$(printf '%s\n' "$PATH" | tr ':' '\n' | sed -n 's,/bin/*$,,p')
for _scx_p in /opt/* /opt/*/envs/* /* $_scx_onpath; do
    case "$_scx_p" in ''|/|/usr|/usr/local) continue ;; esac
    [ -x "$_scx_p/bin/python3" ] || continue
    case "$_scx_p" in
        /opt/*) ;;
        *) if ! printf '%s\n' "$_scx_onpath" | grep -qxF "$_scx_p"; then
               [ "${_scx_p%/*}" = "" ] && [ -f "$_scx_p/pyvenv.cfg" ] || continue
           fi ;;
    esac
    set -- "$_scx_p"/lib/python3*/site-packages
    [ -d "$1" ] || continue
    case " $_scx_envs " in *" $_scx_p "*) continue ;; esac
    _scx_envs="$_scx_envs $_scx_p"
done
for py in /usr/local/bin/python3.* /usr/bin/python3.* $_scx_envs; do
    case "$py" in
        */python3.[0-9]|*/python3.[0-9][0-9]) ;;
        *"/python3.*") continue ;;  # a glob that matched nothing
        *) py="$py/bin/python3" ;;
    esac
    [ -x "$py" ] || continue
    echo "@@scitex:pip $py"
    "$py" -I -m pip --isolated --disable-pip-version-check --no-color freeze --all 2>/dev/null
    echo "@@scitex:pipdirs $py"
    _scx_d=$("$py" -I -c "$_scx_dists" 2>/dev/null)
    printf '%s\n' "$_scx_d"
    _scx_paths="$_scx_paths
$(printf '%s\n' "$_scx_d" | cut -f2)"
done
if command -v npm >/dev/null 2>&1; then
    echo '@@scitex:npm'
    npm list -g --depth=0 --json 2>/dev/null
    echo '@@scitex:npmroot'
    _scx_r=$(npm root -g 2>/dev/null)
    printf '%s\n' "$_scx_r"
    [ -n "$_scx_r" ] && _scx_paths="$_scx_paths
$(ls -d "$_scx_r"/* "$_scx_r"/@*/* 2>/dev/null)"
fi
echo '@@scitex:owners'
if [ -d /var/lib/dpkg/info ]; then
    printf '%s\n' "$_scx_paths" | grep -v '^$' |
        grep -HFx -f - /var/lib/dpkg/info/*.list 2>/dev/null
fi
for db in /lib/apk/db/installed /usr/lib/apk/db/installed; do
    if [ -f "$db" ]; then
        echo '@@scitex:apk'
        cat "$db"
        break
    fi
done
echo '@@scitex:end'
"""

#: Host variables apptainer forwards into the container even with --cleanenv.
_FORWARDED_PREFIXES = ("APPTAINERENV_", "SINGULARITYENV_")
_FORWARDED = (
    "APPTAINER_BIND",
    "APPTAINER_BINDPATH",
    "SINGULARITY_BIND",
    "SINGULARITY_BINDPATH",
    "APPTAINER_HOME",
    "SINGULARITY_HOME",
    "APPTAINER_PWD",
    "SINGULARITY_PWD",
    "APPTAINER_OVERLAY",
    "SINGULARITY_OVERLAY",
    "APPTAINER_WORKDIR",
    "SINGULARITY_WORKDIR",
    "APPTAINER_ENV_FILE",
    "SINGULARITY_ENV_FILE",
    "APPTAINER_WRITABLE_TMPFS",
)


def host_env_to_remove(environ: dict[str, str] | None = None) -> list[str]:
    """Names of host variables that must not reach the capture."""
    environ = dict(os.environ) if environ is None else environ
    return sorted(k for k in environ if k.startswith(_FORWARDED_PREFIXES) or k in _FORWARDED)


def exec_argv(image: Path, cmd: str | None = None) -> list[str]:
    """The one isolated ``apptainer exec`` that prints every package list."""
    cmd = cmd or tool.detect_container_cmd()
    return [
        cmd,
        "exec",
        "--cleanenv",
        "--no-home",
        "--containall",
        os.fspath(image),
        "sh",
        "-c",
        SCRIPT,
    ]


def split_sections(stdout: str) -> list[tuple[str, str, list[str]]]:
    """``(section, argument, lines)`` for each marker block, in order."""
    out: list[tuple[str, str, list[str]]] = []
    for line in stdout.splitlines():
        if line.startswith(MARK):
            head = line[len(MARK) :].split(" ", 1)
            out.append((head[0], head[1] if len(head) > 1 else "", []))
        elif out:
            out[-1][2].append(line)
    return out


def parse_exec_output(stdout: str) -> Found:
    """The version maps from the script's output (same rules as static)."""
    records: list[dict[str, str]] = []
    native = None
    envs: dict[str, dict[str, str]] = {}
    runtime = ""
    env_of_key: dict[str, str] = {}  # pip:<name> -> environment, as static reads it
    node: dict[str, str] = {}
    apk: dict[str, str] = {}
    installed: dict[str, str] = {}  # pip:/node:<name> -> where it lives, as static reads it
    lists: dict[str, bytes] = {}  # dpkg .list -> its lines naming one of those places
    for section, _arg, lines in split_sections(stdout):
        if section == "dpkg":
            for line in lines:
                fields = line.split("\t")
                if len(fields) == 4:
                    records.append(
                        dict(
                            zip(
                                ("Package", "Architecture", "Version", "Status"),
                                fields,
                                strict=False,
                            )
                        )
                    )
        elif section == "dpkg-arch":
            native = next((ln.strip() for ln in lines if ln.strip()), None)
        elif section == "runtime":
            found = [ln.strip() for ln in lines]
            if found and found[0]:
                shebang = found[1] if len(found) > 1 else ""
                where = found[2] if len(found) > 2 else ""
                runtime = runtime_environment(found[0], shebang, where.__add__)
        elif section == "pip":
            freeze_lines_to_map(lines, envs.setdefault(environment_of(_arg), {}))
        elif section == "npm":
            text = "\n".join(lines).strip()
            try:
                node = node_versions(text) if text else {}
            except (ValueError, AttributeError):
                node = {}
        elif section == "apk":
            apk = apk_versions("\n".join(lines))
        elif section == "pipdirs":
            for line in lines:
                name, tab, where = line.partition("\t")
                if tab and name.strip():
                    key = f"{environment_of(_arg)}\0{PipMap.key(name.strip())}"
                    env_of_key.setdefault(key, where)
        elif section == "npmroot":
            root = next((ln.strip() for ln in lines if ln.strip()), "")
            installed |= {f"node:{n}": f"{root}/{n}" for n in node if root}
        elif section == "owners":
            for line in lines:
                listed, sep, path = line.partition(".list:")
                if sep:
                    lists[listed + ".list"] = (
                        lists.get(listed + ".list", b"") + path.encode() + b"\n"
                    )
    dpkg = dpkg_versions(records, native)
    primary = choose_primary(runtime, envs)
    for key, where in env_of_key.items():
        env, _, name = key.partition("\0")
        installed.setdefault(f"{pip_manager(env, primary)}:{name}", where)
    pip = envs.pop(primary, {})
    return Found(
        pip=dict(sorted(pip.items())),
        pip_envs={env: dict(sorted(m.items())) for env, m in sorted(envs.items())},
        pip_environment=primary,
        dpkg=dpkg,
        node=node,
        apk=apk,
        method="exec",
        owners=dpkg_owners(installed, lists, dpkg) if installed and lists else {},
        dpkg_config_files=dpkg_config_files(records, native),
    )


def exec_capture(image: Path, *, timeout: float = 600) -> Found:
    """Run the capture script once inside ``image`` (isolated from the host)."""
    done = runner.run(
        exec_argv(image),
        readonly=True,
        timeout=timeout,
        env_remove=host_env_to_remove(),
        contained=True,  # apptainer's starter drops the parent-death signal: contain it
    )
    if MARK + "end" not in done.stdout:
        from scitex_container.errors import ProcessError

        raise ProcessError(done.argv, done.returncode, done.stdout, done.stderr)
    return parse_exec_output(done.stdout)


def node_json(found: Found) -> str:
    """npm-shaped JSON of the node versions (for the raw ``node-lock.txt``)."""
    deps = {name: {"version": v} for name, v in sorted(found.node.items())}
    return json.dumps({"dependencies": deps}, indent=2, sort_keys=True) + "\n" if deps else ""
