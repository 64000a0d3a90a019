"""Hypothesis strategies, oracles and a stand-in ``apptainer`` for session builder tests.

Every user-controlled field is drawn from a mix of arbitrary text, injection
payloads (which would create :data:`PWNED` if anything evaluated them), valid
values, and valid values with a payload appended.  Host paths are drawn as a
"spec" that the test turns into a real directory (its name arbitrary text or
a payload) or leaves as raw text, so both accepted and refused paths occur.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import string
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

NORMAL_EXAMPLES = 1000
# The slow tier is "more than the normal tier", bounded so the whole suite stays
# under 30 minutes on 2 cores (20000 took 50-140 s per builder; 5000, 27-94 s
# each under load, was still the largest share of the suite).
SLOW_EXAMPLES = 2500
RUN_EXAMPLES = 200

WORK = Path(tempfile.mkdtemp(prefix="scitex-session-props-"))
atexit.register(shutil.rmtree, WORK, True)
PWNED = WORK / "pwned"
DIRS = WORK / "dirs"
DIRS.mkdir()

PAYLOADS = [
    f"$(touch {PWNED})",
    f"`touch {PWNED}`",
    f"; touch {PWNED}",
    f"\ntouch {PWNED}\n",
    f"'; touch {PWNED}; '",
    f'"; touch {PWNED}; "',
    f"$(touch${{IFS}}{PWNED})",
    f"x\n#SBATCH --wrap=touch {PWNED}",
    f"| touch {PWNED}",
    f"&& touch {PWNED} #",
    f"a' \"$(touch {PWNED})\" 'b",
    f"\r\ntouch {PWNED}",
    f"$'\\x0a'touch {PWNED}",
    "*{,}[a]?~",
    "-rf",
    "--bind=/:/host",
    "x,y=z",
    'x"y',
    "a:b",
    "",
]

payload = st.sampled_from(PAYLOADS)
hostile_text = st.one_of(st.text(max_size=40), payload)


LOWER = string.ascii_lowercase
ALNUM = string.ascii_letters + string.digits


def name(first: str, rest: str, max_len: int) -> st.SearchStrategy[str]:
    """Valid names, built from alphabets (much cheaper than ``from_regex``)."""
    return st.builds(
        lambda a, b: a + b, st.sampled_from(first), st.text(alphabet=rest, max_size=max_len - 1)
    )


def field(valid: st.SearchStrategy[str]) -> tuple[st.SearchStrategy, st.SearchStrategy]:
    """(valid values, hostile values): text, payloads, valid values around a payload."""
    hostile = st.one_of(
        hostile_text,
        st.tuples(valid, payload).map("".join),
        st.tuples(payload, valid).map("".join),
    )
    return valid, hostile


#: Dots, capitals and digits included (``John.Doe2``), as LDAP directories have them.
USERNAME = field(name(ALNUM + "_", ALNUM + "_.-@", 32))
SLUG = field(name(ALNUM, ALNUM + "_-", 64))
INSTANCE = field(name(ALNUM, ALNUM + "_-", 128))
DEV_NAME = field(name(ALNUM, ALNUM + "_.-", 64))
_part = field(st.lists(name(ALNUM, ALNUM + "_.-", 20), min_size=1, max_size=2).map(",".join))
PARTITION = (st.one_of(_part[0], st.just("")), _part[1])
_digits = st.text(alphabet=string.digits, min_size=1, max_size=7)
TIME = (
    st.one_of(
        st.integers(1, 9999).map(str),
        st.builds("{}:{:02d}".format, st.integers(0, 9999), st.integers(1, 59)),
        st.builds(
            "{}:{:02d}:{:02d}".format, st.integers(1, 999), st.integers(0, 59), st.integers(0, 59)
        ),
        st.builds("{}-{}".format, st.integers(1, 99), st.integers(0, 23)),
        st.builds(
            "{}-{}:{:02d}".format, st.integers(0, 99), st.integers(1, 23), st.integers(0, 59)
        ),
        st.builds(
            "{}-{}:{:02d}:{:02d}".format,
            st.integers(1, 364),
            st.integers(0, 23),
            st.integers(0, 59),
            st.integers(0, 59),
        ),
    ),
    st.one_of(
        hostile_text,
        st.lists(_digits, min_size=1, max_size=4).map(":".join),
        st.builds("{}-{}".format, _digits, st.lists(_digits, min_size=1, max_size=4).map(":".join)),
        st.sampled_from(
            [
                "0",
                "00:00",
                "0-0",
                "366-00:00:00",
                "1:60",
                "1-24",
                "1:1:60",
                "\u0663",
                "1\n",
                " 1",
                "+1",
                "1-",
                "-1",
                "1:2:3:4",
            ]
        ),
    ),
)
INTS = (
    st.integers(min_value=1, max_value=64),
    st.one_of(
        st.integers(min_value=-5, max_value=70000),
        st.sampled_from([0, 4096, 4097, 65536, 65537, True, False, 1.5, "4", None, -1]),
    ),
)
JOB_ID = (
    st.one_of(
        st.integers(min_value=0, max_value=10**12 - 1),
        st.text(alphabet=string.digits, min_size=1, max_size=12),
    ),
    st.one_of(st.integers(min_value=-10, max_value=10**13), hostile_text),
)
MODE = (st.sampled_from(["ro", "rw", "", None]), st.text(max_size=4))

#: A host path spec: ("dir", name) makes WORK/dirs/<name>; ("raw", text) is used as is.
#: Valid specs are real directories with any name (payloads included).
PATH_SPEC = (
    st.one_of(
        st.tuples(st.just("dir"), name(ALNUM, ALNUM + " ._-", 20)),
        st.tuples(st.just("dir"), payload),
        st.tuples(st.just("dir"), st.text(min_size=1, max_size=30)),
    ),
    st.one_of(
        st.tuples(st.just("raw"), st.text(max_size=30)),
        st.tuples(st.just("raw"), payload),
        st.tuples(st.just("raw"), st.sampled_from(["relative/dir", "/no/such/dir", ""])),
    ),
)
IMAGE = (
    st.one_of(
        st.tuples(
            st.just("raw"),
            st.builds(
                "/{}{}".format, name(ALNUM, ALNUM + " ._-", 20), st.sampled_from(["", ".sif"])
            ),
        ),
        st.tuples(st.just("raw"), payload.map(lambda p: "/img/" + p + ".sif")),
        st.tuples(st.just("raw"), payload.map(lambda p: "/img/" + p)),
        st.tuples(st.just("raw"), st.text(max_size=20).map(lambda t: "/img/" + t)),
    ),
    st.one_of(st.tuples(st.just("raw"), st.text(max_size=30)), st.tuples(st.just("raw"), payload)),
)
TEXLIVE = (
    st.sampled_from(["", "/usr", "/nonexistent-prefix"]),
    st.one_of(st.text(max_size=10), payload),
)


@st.composite
def arguments(draw, **fields: tuple) -> dict:
    """Keyword arguments with at most a few fields drawn from their hostile values.

    ``fields`` maps a name to ``(valid, hostile)`` strategies, or to a plain
    strategy used as is.  Corrupting few fields at a time keeps a good share
    of examples accepted, so both outcomes are exercised thoroughly.
    """
    pairs = {k: v for k, v in fields.items() if isinstance(v, tuple)}
    corrupt = draw(st.sets(st.sampled_from(sorted(pairs)), max_size=2)) if pairs else set()
    out = {}
    for name, spec in fields.items():
        if isinstance(spec, tuple):
            out[name] = draw(spec[1] if name in corrupt else spec[0])
        else:
            out[name] = draw(spec)
    return out


def lists_of(entry: dict, max_size: int = 3) -> tuple:
    """(valid, hostile) lists of dicts built from per-key (valid, hostile) pairs."""
    valid = st.lists(arguments(**entry), max_size=max_size)
    hostile = st.one_of(
        valid,
        st.lists(
            st.fixed_dictionaries({k: st.one_of(*v) for k, v in entry.items()}),
            min_size=1,
            max_size=max_size,
        ),
        st.sampled_from(["not-a-list", 3, [1], [{}]]),
    )
    return st.one_of(st.none(), valid), hostile


DEV_REPOS = lists_of({"name": DEV_NAME, "host_path": PATH_SPEC})
HOST_MOUNTS = lists_of({"host_path": PATH_SPEC, "container_path": PATH_SPEC, "mode": MODE})


def realize(spec: tuple[str, str]) -> str:
    """Turn a path spec into a string, making the directory when asked."""
    kind, text = spec
    if kind == "raw":
        return text
    path = os.path.join(str(DIRS), text)
    with contextlib.suppress(OSError, ValueError):
        os.makedirs(path, exist_ok=True)
    return path


def _realize_entries(entries, keys):
    if not isinstance(entries, list):
        return entries
    out = []
    for e in entries:
        if isinstance(e, dict):
            e = {
                k: (realize(val) if k in keys and isinstance(val, tuple) else val)
                for k, val in e.items()
            }
        out.append(e)
    return out


def realize_repos(repos):
    return _realize_entries(repos, {"host_path"})


def realize_mounts(mounts):
    return _realize_entries(mounts, {"host_path", "container_path"})


def profile(examples: int):
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=False,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
        ],
    )


# ----------------------------------------------------------------- oracles
# Written independently of the package's validators (split-based, not regex-based).

_ASCII_DIGITS = set(string.digits)


def _num(text: str) -> int | None:
    if not text or len(text) > 6 or not set(text) <= _ASCII_DIGITS:
        return None
    return int(text)


def oracle_time_seconds(text: object) -> int | None:
    """Seconds of a valid SLURM time limit, or None."""
    if not isinstance(text, str):
        return None
    days = 0
    rest = text
    if "-" in text:
        d, _, rest = text.partition("-")
        days = _num(d)
        if days is None:
            return None
        parts = rest.split(":")
        if len(parts) > 3:
            return None
        units = [3600, 60, 1][: len(parts)]
    else:
        parts = text.split(":")
        units = {1: [60], 2: [60, 1], 3: [3600, 60, 1]}.get(len(parts))
        if units is None:
            return None
    nums = [_num(p) for p in parts]
    if any(n is None for n in nums):
        return None
    first_bounded = "-" in text
    for i, (n, unit) in enumerate(zip(nums, units, strict=True)):
        if (i > 0 or first_bounded) and n > (23 if unit == 3600 else 59):
            return None
    total = days * 86400 + sum(n * u for n, u in zip(nums, units, strict=True))
    return total if 0 < total <= 365 * 86400 else None


def oracle_int(value: object, maximum: int) -> bool:
    return type(value) is int and 1 <= value <= maximum


def oracle_name(value: object, first: str, rest: str, max_len: int) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value) <= max_len
        and value[0] in first
        and all(c in rest for c in value)
    )


def USER_OK(s: object) -> bool:
    """Login names as the system's user database accepts them (LDAP's ``John.Doe``),
    minus what would break a path, a bind spec or an ``--env`` value."""
    if not isinstance(s, str) or not 0 < len(s) <= 256 or s in (".", ".."):
        return False
    if s.startswith("-") or any(c in ":/\\,\"'" or c.isspace() for c in s):
        return False
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in s):
        return False
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


SLUG_OK = lambda s: oracle_name(s, ALNUM, ALNUM + "_-", 64)  # noqa: E731
INSTANCE_OK = lambda s: oracle_name(s, ALNUM, ALNUM + "_-", 128)  # noqa: E731
DEV_OK = lambda s: oracle_name(s, ALNUM, ALNUM + "_.-", 64)  # noqa: E731


def oracle_partition(value: object) -> bool:
    if value == "":
        return True
    if not isinstance(value, str):
        return False
    return all(oracle_name(p, ALNUM, ALNUM + "_.-", 64) for p in value.split(","))


def clean_path(value: object) -> bool:
    """Absolute, no control character, no ':' or ','."""
    return (
        isinstance(value, str)
        and value.startswith("/")
        and not any(ord(c) < 32 or ord(c) == 127 for c in value)
        and "," not in value
        and ":" not in value
    )


CONTROL = re.compile(r"[\x00-\x1f\x7f]")

# ----------------------------------------------------------------- stand-in apptainer

STAND_IN = (
    r"""#!/bin/bash
# Records its argv (count, then NUL-terminated args) and plays `instance list`:
# the instance is listed on the first query only.  Evaluates nothing.
log=${FAKE_APPTAINER_LOG:?}
{ printf '%s\0' "$#"; printf '%s\0' "$@"; } >> "$log"
if [ "${1-}" = instance ] && [ "${2-}" = list ]; then
    n=0
    [ -f "$log.n" ] && n=$(cat "$log.n")
    n=$((n + 1))
    printf '%s' "$n" > "$log.n"
    if [ "$n" -le "${FAKE_LISTED:-1}" ]; then
        printf '{\n\t"instances": [\n\t\t{\n\t\t\t"instance": "%s","""
    r"""\n\t\t\t"pid": 1\n\t\t}\n\t]\n}\n' "${!#}"
    else
        printf '{\n\t"instances": []\n}\n'
    fi
fi
if [ "${1-}" = instance ] && [ "${2-}" = start ]; then
    exit "${FAKE_START_RC:-0}"
fi
if [ "${1-}" = instance ] && [ "${2-}" = stop ] && [ -n "${FAKE_STOP_TERM-}" ]; then
    kill -TERM "$PPID"  # scancel's TERM reaching the script while the instance stops
fi
exit 0
"""
)


def install_stand_in(bindir: Path) -> Path:
    bindir.mkdir(parents=True, exist_ok=True)
    path = bindir / "apptainer"
    path.write_text(STAND_IN)
    path.chmod(0o755)
    return path


def read_calls(log: Path) -> list[list[str]]:
    """The argv of each stand-in call, in order."""
    if not log.exists():
        return []
    items = log.read_bytes().split(b"\0")
    calls: list[list[str]] = []
    i = 0
    while i < len(items) - 1:
        count = int(items[i])
        calls.append([x.decode("utf-8", "surrogateescape") for x in items[i + 1 : i + 1 + count]])
        i += 1 + count
    return calls
