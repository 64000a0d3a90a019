"""The shell text of the pin stanzas in a locked def's ``%post``.

Each stanza is POSIX sh that runs after the rough ``%post`` has run (the
generated ``%post`` runs it first, :mod:`..lock.post_wrap`; apptainer runs
the whole with ``sh -e -x``) and:

1. writes its pins into a file inside the image with a quoted heredoc;
2. compares them with what is installed (``dpkg-query``, ``pip freeze``,
   the global ``node_modules``) and keeps only the pins that differ, so a
   rebuild that already matches the lock needs no network and no package
   manager run at all;
3. installs the differing pins at their exact versions;
4. says so and does nothing when the image lacks that package manager.

Their scratch files live in a directory of the image's own root
(:data:`MKTEMP`), never in ``/tmp``: ``apptainer build`` binds the host's
``/tmp`` and ``/var/tmp`` into ``%post``, so a ``mktemp -d`` there is a
directory on the host, left behind by every build that fails before the
stanza's ``rm -rf``.  In the root file system it is removed with the
stanza on success and discarded with the build's root file system on
failure: nothing reaches the host on any exit path.

Every function here is pure: pins in, lines out, sorted and stable.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

_TS_RE = re.compile(r"\d{8}T\d{6}Z\Z")
#: The stanzas' scratch directory: in the image's root, not the host-bound /tmp.
MKTEMP = '_scx_tmp="$(mktemp -d /.scitex-container-pins.XXXXXX)"'


@dataclass(frozen=True)
class SnapshotMirror:
    """A dated archive apt reads pins from, so they resolve after the live mirror moved on.

    Either ``timestamp`` (``YYYYMMDDTHHMMSSZ``: the Debian or Ubuntu snapshot
    archive of that moment, chosen from the image's ``/etc/os-release``), or
    ``url`` (an archive base used with the image's codename as suite).
    """

    timestamp: str = ""
    url: str = ""

    @classmethod
    def parse(cls, value: str) -> SnapshotMirror:
        """``20240115T000000Z``, ``2024-01-15``, ``2024-01-15T08:30:00Z`` or an http(s) URL."""
        value = value.strip()
        if value.startswith(("http://", "https://")):
            return cls(url=value.rstrip("/"))
        digits = re.sub(r"[-:]", "", value.removesuffix("Z"))
        digits = digits.split(".")[0].split("+")[0]
        if re.fullmatch(r"\d{8}", digits):
            digits += "T000000"
        if re.fullmatch(r"\d{8}T\d{6}", digits):
            return cls(timestamp=digits + "Z")
        if re.fullmatch(r"\d{8}T\d{4}", digits):
            return cls(timestamp=digits + "00Z")
        raise ValueError(
            f"snapshot mirror {value!r} is neither a timestamp (20240115T000000Z, "
            "2024-01-15) nor an http(s) archive URL"
        )

    def describe(self) -> str:
        return self.url or f"snapshot archive at {self.timestamp}"


def _heredoc(path: str, tag: str, lines: Sequence[str], indent: str) -> list[str]:
    """A quoted heredoc writing ``lines`` to ``path`` (body and end tag in column 0)."""
    return [f"{indent}cat > {path} <<'{tag}'", *lines, tag]


def skipped(manager: str, reason: str) -> list[str]:
    return [f"# --- {manager}: skipped: {reason} ---"]


def _snapshot_lines(snapshot: SnapshotMirror, indent: str) -> list[str]:
    src = "/etc/apt/sources.list.d/scitex-container-snapshot.list"
    i = indent
    out = [
        f"{i}# point apt at {snapshot.describe()} (check-valid-until=no: old Release files)",
        f'{i}_scx_os="$(. /etc/os-release && echo "${{ID:-}} ${{VERSION_CODENAME:-}}")"',
        f'{i}_scx_codename="${{_scx_os#* }}"',
        f'{i}case "${{_scx_os%% *}}" in',
    ]
    if snapshot.url:
        out += [
            f'{i}    ubuntu) _scx_comp="main universe" ;;',
            f'{i}    *) _scx_comp="main" ;;',
            f"{i}esac",
            f"{i}_scx_base={shlex.quote(snapshot.url)}",
            f'{i}_scx_sec=""',
        ]
    else:
        ts = snapshot.timestamp
        out += [
            (
                f'{i}    debian) _scx_base="http://snapshot.debian.org/archive/debian/{ts}"; '
                f'_scx_sec="http://snapshot.debian.org/archive/debian-security/{ts}"; _scx_comp="main" ;;'
            ),
            (
                f'{i}    ubuntu) _scx_base="http://snapshot.ubuntu.com/ubuntu/{ts}"; '
                f'_scx_sec="$_scx_base"; _scx_comp="main universe" ;;'
            ),
            f'{i}    *) echo "scitex-container: no snapshot archive known for ${{_scx_os%% *}}" >&2; exit 1 ;;',
            f"{i}esac",
        ]
    out += [
        f'{i}[ -n "$_scx_codename" ] || _scx_codename=sid',
        f"{i}_scx_add() {{  # url suite: skip a source apt already has (a second copy conflicts)",
        f'{i}    if grep -qsF "$1 $2 " /etc/apt/sources.list /etc/apt/sources.list.d/*.list; then return 0; fi',
        f'{i}    if grep -qsF "$1" /etc/apt/sources.list.d/*.sources; then return 0; fi',
        f'{i}    echo "deb [check-valid-until=no] $1 $2 $_scx_comp" >> {src}',
        f"{i}}}",
        f"{i}: > {src}",
        f'{i}_scx_add "$_scx_base" "$_scx_codename"',
        f'{i}if [ "$_scx_codename" != sid ]; then',
        f'{i}    _scx_add "$_scx_base" "$_scx_codename-updates"',
        f'{i}    if [ -n "$_scx_sec" ]; then _scx_add "$_scx_sec" "$_scx_codename-security"; fi',
        f"{i}fi",
    ]
    return out


def apt_stanza(
    pins: dict[str, str], *, scope: str, snapshot: SnapshotMirror | None = None
) -> list[str]:
    """Pin ``{package: version}`` with ``apt-get install --allow-downgrades pkg=version``."""
    names = sorted(pins)
    src = "/etc/apt/sources.list.d/scitex-container-snapshot.list"
    out = [
        f"# --- apt: {len(names)} package(s) pinned ({scope}) ---",
        "if command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1; then",
        f"    {MKTEMP}",
        *_heredoc(
            '"$_scx_tmp/apt-pins"', "SCITEX_APT_PINS", [f"{n}={pins[n]}" for n in names], "    "
        ),
        (
            "    dpkg-query -W -f='${Package}=${Version}\\n${Package}:${Architecture}=${Version}\\n' "
            '> "$_scx_tmp/apt-installed"'
        ),
        '    grep -vxF -f "$_scx_tmp/apt-installed" "$_scx_tmp/apt-pins" > "$_scx_tmp/apt-todo" || true',
        '    if [ -s "$_scx_tmp/apt-todo" ]; then',
        '        echo "scitex-container: apt pins to install: $(wc -l < "$_scx_tmp/apt-todo")" >&2',
        "        _scx_lists=0",
        "        if ls /var/lib/apt/lists 2>/dev/null | grep -q _Packages; then _scx_lists=1; fi",
    ]
    if snapshot is not None:
        out += _snapshot_lines(snapshot, "        ")
    out += [
        '        apt-get update || echo "scitex-container: apt-get update reported errors" >&2',
        (
            "        DEBIAN_FRONTEND=noninteractive apt-get install -y --allow-downgrades "
            '--no-install-recommends $(sed "s/:all=/=/" "$_scx_tmp/apt-todo")'
        ),
    ]
    if snapshot is not None:
        out.append(f"        rm -f {src}")
    out += [
        '        if [ "$_scx_lists" = 0 ]; then apt-get clean; rm -rf /var/lib/apt/lists/*; fi',
        "    fi",
        '    rm -rf "$_scx_tmp"',
        "else",
        '    echo "scitex-container: no apt-get/dpkg-query in this image; apt pins skipped" >&2',
        "fi",
    ]
    return out


#: Which pins are not installed yet (``awk -f`` of this, FREEZE then PINS).
#: Names match normalized (``DjangoFake`` is ``djangofake``); a ``name==ver``
#: pin needs that version; a ``name @ url`` pin is satisfied by the same line,
#: or by the name installed at the URL's version (read from a wheel's or an
#: sdist's file name), or by the name alone when either version is unknown:
#: a URL whose file the rough %post deleted is never fetched again.
AWK_PIP_TODO = r"""
function norm(s) { s = tolower(s); gsub(/[-_.]+/, "-", s); return s }
function parts(line,   i, j) {
    i = index(line, "=="); j = index(line, " @ ")
    if (j && (!i || j < i)) { N = substr(line, 1, j - 1); R = substr(line, j) }
    else if (i) { N = substr(line, 1, i - 1); R = substr(line, i) }
    else return 0
    sub(/\[.*/, "", N); gsub(/[ \t]+$/, "", N); N = norm(N)
    return 1
}
function urlver(u,   f, n, p, v) {
    f = u; sub(/[?#].*/, "", f); sub(/.*\//, "", f)
    if (f ~ /\.whl$/) { n = split(f, p, "-"); return n >= 5 ? p[2] : "" }
    if (match(f, /-[0-9][^-]*\.(tar\.gz|tar\.bz2|zip)$/)) {
        v = substr(f, RSTART + 1, RLENGTH - 1); sub(/\.(tar\.gz|tar\.bz2|zip)$/, "", v)
        return v
    }
    return ""
}
function ver(r) { return substr(r, 1, 2) == "==" ? substr(r, 3) : urlver(substr(r, 4)) }
NR == FNR { if (parts($0) && !(N in have)) have[N] = R; next }
!parts($0) || !(N in have) { print; next }
R == have[N] { next }
substr(R, 1, 3) == " @ " && (ver(R) == "" || ver(have[N]) == "" || ver(R) == ver(have[N])) { next }
{ print }
"""


def pip_stanza(
    pins: Sequence[str],
    *,
    commands: Sequence[str] = (),
    options: Sequence[str] = (),
    hashed: Sequence[str] = (),
    exclusive: bool = False,
    label: str = "",
) -> list[str]:
    """Pin requirement lines (``name==version`` / ``name @ url``) with ``pip install --no-deps``.

    ``exclusive``: only ``commands`` are tried (one environment's pip: the
    pins of one Python environment are installed with its own pip).

    ``commands`` are tried first (the rough def's own pip), then ``pip3``,
    ``pip``, ``python3 -m pip`` and the pips of environments under
    ``/opt``, one per Python (found from the script's ``#!`` line); the
    first whose ``freeze`` runs installs, and a pin counts as satisfied
    when any of them lists it (a lock of one environment, or written before
    environments were recorded).
    ``options`` (shell words) are the rough def's source options
    (``--no-index --find-links DIR`` ...).  ``hashed`` (``pin --hash=...``
    per pin, same order) installs the differing pins with ``--require-hashes``.
    """
    candidates: list[str] = []
    for cmd in [*commands, *(() if exclusive else ("pip3", "pip", "python3 -m pip"))]:
        if cmd not in candidates:
            candidates.append(cmd)
    others = "" if exclusive else " /opt/*/bin/pip"
    opts = " ".join(options)
    install = "$_scx_pip install --no-deps --disable-pip-version-check $_scx_bsp"
    if opts:
        install += f" {opts}"
    return [
        f"# --- pip{label}: {len(pins)} package(s) pinned (--no-deps) ---",
        MKTEMP,
        '_scx_pip=""',
        ': > "$_scx_tmp/pip-freeze"',
        '_scx_seen="|"',
        "for _scx_c in " + " ".join(shlex.quote(c) for c in candidates) + others + "; do",
        '    _scx_exe="$(command -v "${_scx_c%% *}" 2>/dev/null)" || continue',
        "    # one freeze per Python (pip3, pip and python3 -m pip are often the same one)",
        '    case "$_scx_c" in',
        '        *" -m pip") _scx_id="$_scx_exe" ;;',
        '        *) _scx_id="$(sed -n \'1s/^#![[:space:]]*//p\' "$_scx_exe" 2>/dev/null)" ;;',
        "    esac",
        '    case "$_scx_id" in */env\\ *) _scx_id="$(command -v "${_scx_id##* }" || echo "$_scx_id")" ;; esac',
        "    # one environment = one sys.prefix (never readlink: a venv's python3 links to /usr's)",
        '    _scx_id="$("${_scx_id%% *}" -I -c \'import sys; print(sys.prefix)\' 2>/dev/null || echo "$_scx_id")"',
        '    case "$_scx_seen" in *"|$_scx_id|"*) continue ;; esac',
        '    if $_scx_c freeze --all >> "$_scx_tmp/pip-freeze" 2>/dev/null; then',
        '        _scx_seen="$_scx_seen$_scx_id|"',
        '        if [ -z "$_scx_pip" ]; then _scx_pip="$_scx_c"; fi',
        "    fi",
        "done",
        'if [ -n "$_scx_pip" ]; then',
        *_heredoc('"$_scx_tmp/pip-pins"', "SCITEX_PIP_PINS", list(pins), "    "),
        *_heredoc(
            '"$_scx_tmp/pip-todo.awk"', "SCITEX_PIP_AWK", AWK_PIP_TODO.strip().split("\n"), ""
        ),
        '    awk -f "$_scx_tmp/pip-todo.awk" "$_scx_tmp/pip-freeze" "$_scx_tmp/pip-pins" > "$_scx_tmp/pip-todo"',
        *_hashed_todo(hashed),
        '    if [ -s "$_scx_tmp/pip-todo" ]; then',
        '        echo "scitex-container: pip pins to install with $_scx_pip: $(wc -l < "$_scx_tmp/pip-todo")" >&2',
        '        _scx_bsp=""',
        "        # PEP 668: only where pip knows the flag and the Python is externally managed",
        "        if $_scx_pip install --help 2>/dev/null | grep -q -e --break-system-packages; then",
        (
            "            for _scx_m in /usr/lib/python3*/EXTERNALLY-MANAGED "
            "/usr/local/lib/python3*/EXTERNALLY-MANAGED; do"
        ),
        '                if [ -e "$_scx_m" ]; then _scx_bsp=--break-system-packages; fi',
        "            done",
        "        fi",
        f'        {install} -r "$_scx_tmp/pip-todo"',
        "    fi",
        "else",
        '    echo "scitex-container: no pip in this image; pip pins skipped" >&2',
        "fi",
        'rm -rf "$_scx_tmp"',
    ]


def _hashed_todo(hashed: Sequence[str]) -> list[str]:
    """Replace each differing pin by its ``pin --hash=sha256:...`` line."""
    if not hashed:
        return []
    return [
        *_heredoc('"$_scx_tmp/pip-hashed"', "SCITEX_PIP_HASHED", list(hashed), "    "),
        (
            "    awk 'NR == FNR { todo[$0] = 1; next } "
            '{ i = index($0, " --hash="); if (substr($0, 1, i - 1) in todo) print }\' '
            '"$_scx_tmp/pip-todo" "$_scx_tmp/pip-hashed" > "$_scx_tmp/pip-todo-hashed"'
        ),
        '    mv "$_scx_tmp/pip-todo-hashed" "$_scx_tmp/pip-todo"',
    ]


def npm_stanza(
    pins: dict[str, str], *, tarball_dirs: Sequence[str] = (), options: Sequence[str] = ()
) -> list[str]:
    """Pin global npm packages with ``npm install -g name@version``.

    A pin that differs is installed from ``<dir>/<name>-<version>.tgz`` (the
    file ``npm pack`` makes) when one of ``tarball_dirs`` holds it, else
    from the registry; ``options`` are the rough def's npm source options.
    """
    names = sorted(pins)
    dirs = " ".join(shlex.quote(d) for d in tarball_dirs)
    out = [
        f"# --- npm: {len(names)} global package(s) pinned ---",
        "if command -v npm >/dev/null 2>&1; then",
        f"    {MKTEMP}",
        *_heredoc(
            '"$_scx_tmp/npm-pins"', "SCITEX_NPM_PINS", [f"{n}@{pins[n]}" for n in names], "    "
        ),
        '    _scx_root="$(npm root -g)"',
        '    _scx_args=""',
        "    while read -r _scx_spec; do",
        '        _scx_name="${_scx_spec%@*}"',
        '        _scx_ver="${_scx_spec##*@}"',
        (
            "        _scx_have=\"$(node -p 'require(process.argv[1]).version' "
            '"$_scx_root/$_scx_name/package.json" 2>/dev/null || true)"'
        ),
        '        if [ "$_scx_have" = "$_scx_ver" ]; then continue; fi',
        '        _scx_arg="$_scx_spec"',
    ]
    if tarball_dirs:
        out += [
            '        _scx_file="$(echo "$_scx_name" | sed \'s#^@##; s#/#-#\')-$_scx_ver.tgz"',
            f"        for _scx_d in {dirs}; do",
            '            if [ -f "$_scx_d/$_scx_file" ]; then _scx_arg="$_scx_d/$_scx_file"; break; fi',
            "        done",
        ]
    out += [
        '        _scx_args="$_scx_args $_scx_arg"',
        '    done < "$_scx_tmp/npm-pins"',
        '    if [ -n "$_scx_args" ]; then',
        '        echo "scitex-container: npm pins to install:$_scx_args" >&2',
        "        npm install -g --no-audit --no-fund"
        + "".join(f" {o}" for o in options)
        + " $_scx_args",
        "    fi",
        '    rm -rf "$_scx_tmp"',
        "else",
        '    echo "scitex-container: no npm in this image; npm pins skipped" >&2',
        "fi",
    ]
    return out
