"""A dangling link given as a SOURCE is said as one by every command (issue 21, left).

`sandbox create/to-sif/maintain/update`, `repro DEF` and a policy's keyring
said "not found", and `status DIR` printed an empty table (exit 0): every
other command says ``PATH: is a dangling link (to TARGET)``, exit 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from clirun import cli

from scitex_container.apptainer.signing.policy import parse_policy
from scitex_container.errors import BadInputError

GONE = "gone-20261206T000000Z"
COMMANDS = [
    ("sandbox", "create", "LINK", "sb"),
    ("sandbox", "to-sif", "LINK", "out.sif"),
    ("sandbox", "maintain", "LINK", "true"),
    ("sandbox", "update", "LINK"),
    ("repro", "LINK"),
    ("status", "LINK"),
    ("verify", "img.sif", "--keyring", "LINK"),
]


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_a_dangling_source_is_said_as_one(tmp_path: Path, argv) -> None:
    (tmp_path / "img.sif").write_bytes(b"")
    (tmp_path / "LINK").symlink_to(GONE)
    before = sorted(p.name for p in tmp_path.iterdir())
    done = cli(*argv, cwd=tmp_path)
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert lines == [f"error: LINK: is a dangling link (to {GONE})"], done.stderr
    assert done.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing made
    said = cli("--json", *argv, cwd=tmp_path)
    assert said.returncode == 2
    assert json.loads(said.stdout)["error"] == f"LINK: is a dangling link (to {GONE})"


def test_a_dangling_keyring_in_a_policy_is_said_as_one_naming_it_once(tmp_path: Path) -> None:
    (tmp_path / "ring").symlink_to("gone-ring")
    policy = tmp_path / "policy.toml"
    policy.write_text('[require_signature]\nswitch = true\nkeyring = "ring"\n')
    with pytest.raises(BadInputError) as err:
        parse_policy(policy)
    ring = tmp_path / "ring"
    assert str(err.value) == (
        f"{policy}: `require_signature.keyring`: {ring}: is a dangling link (to gone-ring)"
    )
    assert err.value.exit_code == 2
