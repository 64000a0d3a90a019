"""The site policy: which lifecycle steps require an image signed by the site's keys.

The one module that reads the policy file, ``/etc/scitex-container/policy.toml``
(or the file named by :data:`~scitex_container.envvars.POLICY`)::

    [require_signature]
    switch = true          # store `switch` / `rollback` to a SIF version
    deploy = true          # `deploy` of the active image
    session_start = true   # `session start`, before anything is submitted
    sandbox_to_sif = true  # `sandbox to-sif` outputs, before they are published
    pull = true            # `pull` from a registry, before the image becomes a version
    import = true          # `bundle import`, before the image becomes a version
    keys = ["/etc/scitex-container/keys/site.pub"]
    keyring = "/etc/scitex-container/keys"   # optional: every *.pub / *.pem in it

No file at the default path means no policy (nothing is gated).  A file
that cannot be read or parsed, an unknown table or key, a value of the
wrong type, a required step without keys, or a key file that is missing or
not a PEM public key is a :class:`~scitex_container.errors.BadInputError`
naming the file and the key (exit 2), whichever step asked.  Relative key
paths are relative to the policy file's directory.

:func:`require_signature` is the gate every step calls: it does nothing
unless the policy requires a signature for that step, and otherwise
raises :class:`~scitex_container.errors.PolicyRefusedError` (exit 1,
naming the image and the failed check, the verdict attached) unless the
image verifies with one of the policy's keys (:mod:`.verdict`).
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scitex_container import envvars
from scitex_container.apptainer.signing.keys import PublicKey, load_public_key, public_keys
from scitex_container.errors import BadInputError, NotFoundError, PolicyRefusedError
from scitex_container.result import Result

if TYPE_CHECKING:  # the verdict module (and what it imports) loads only when a gate applies
    from scitex_container.apptainer.signing.signature_check import SignatureVerdict

DEFAULT_PATH = Path("/etc/scitex-container/policy.toml")
TABLE = "require_signature"
ACTIONS = ("switch", "deploy", "session_start", "sandbox_to_sif", "pull", "import")
KEY_FIELDS = ("keys", "keyring")


@dataclass(frozen=True)
class Policy(Result):
    """A parsed, checked site policy."""

    path: Path
    require: tuple[str, ...]  #: the steps that require a signature
    keys: tuple[PublicKey, ...]

    def requires(self, action: str) -> bool:
        return action in self.require


def policy_path() -> tuple[Path, bool]:
    """The policy file and whether it was named explicitly (by the environment)."""
    named = os.environ.get(envvars.POLICY)
    return (Path(named), True) if named else (DEFAULT_PATH, False)


def _toml():
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - python 3.10
        import tomli as tomllib
    return tomllib


def _read(path: Path) -> dict[str, Any]:
    try:
        st = path.stat()
        data = path.read_bytes()
    except FileNotFoundError:
        raise NotFoundError("policy file does not exist", str(path)) from None
    except OSError as exc:
        raise BadInputError(f"cannot read the policy file: {exc.strerror}", str(path)) from None
    if not stat.S_ISREG(st.st_mode):
        raise BadInputError("the policy file is not a regular file", str(path))
    if st.st_mode & 0o002:
        raise BadInputError("the policy file is writable by everyone; refusing it", str(path))
    tomllib = _toml()
    try:
        doc = tomllib.loads(data.decode())
    except UnicodeDecodeError:
        raise BadInputError("the policy file is not UTF-8 text", str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise BadInputError(f"not valid TOML: {exc}", str(path)) from None
    return doc


def _key_paths(path: Path, table: dict[str, Any]) -> list[tuple[str, Path]]:
    out: list[tuple[str, Path]] = []
    keys = table.get("keys", [])
    if not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys):
        raise BadInputError(f"`{TABLE}.keys` must be a list of key file paths", str(path))
    out += [(f"{TABLE}.keys[{i}]", path.parent / k) for i, k in enumerate(keys)]
    ring = table.get("keyring")
    if ring is not None:
        if not isinstance(ring, str) or not ring:
            raise BadInputError(f"`{TABLE}.keyring` must be a directory path", str(path))
        out.append((f"{TABLE}.keyring", path.parent / ring))
    return out


def _load_keys(path: Path, table: dict[str, Any]) -> tuple[PublicKey, ...]:
    loaded: list[PublicKey] = []
    for field, key_path in _key_paths(path, table):
        try:
            if field.endswith("keyring"):
                loaded += public_keys(keyring=key_path)
            else:
                loaded.append(load_public_key(key_path))
        except BadInputError as exc:
            where = f" {exc.where}" if exc.where and exc.where != str(key_path) else ""
            raise BadInputError(f"`{field}`: {key_path}{where}: {exc.detail}", str(path)) from None
    return tuple(loaded)


def parse_policy(path: str | os.PathLike) -> Policy:
    """Read and check the policy file at ``path`` (see the module docstring)."""
    path = Path(path)
    doc = _read(path)
    for name in doc:
        if name != TABLE:
            raise BadInputError(f"unknown table or key `{name}` (known: [{TABLE}])", str(path))
    table = doc.get(TABLE, {})
    if not isinstance(table, dict):
        raise BadInputError(f"`{TABLE}` must be a table", str(path))
    known = (*ACTIONS, *KEY_FIELDS)
    for name, value in table.items():
        if name not in known:
            raise BadInputError(
                f"unknown key `{TABLE}.{name}` (known: {', '.join(known)})", str(path)
            )
        if name in ACTIONS and not isinstance(value, bool):
            raise BadInputError(f"`{TABLE}.{name}` must be true or false", str(path))
    require = tuple(a for a in ACTIONS if table.get(a) is True)
    keys = _load_keys(path, table)
    if require and not keys:
        raise BadInputError(
            f"`{TABLE}` requires signatures but names no `keys` or `keyring`", str(path)
        )
    return Policy(path, require, keys)


def load_policy() -> Policy | None:
    """The site policy, or None when there is none (no file at the default path)."""
    path, named = policy_path()
    if not named and not os.path.lexists(path):
        return None
    return parse_policy(path)


def check_image(
    policy: Policy, action: str, image: str | os.PathLike, *, shown: str | None = None
) -> SignatureVerdict:
    """Verify ``image`` for ``action`` under ``policy``; raise if it does not verify.

    ``shown`` names the image in the message when ``image`` is a temporary file.
    """
    from scitex_container.apptainer.signing.signature_check import verify_signature

    verdict = verify_signature(image, list(policy.keys))
    if not verdict.ok:
        step = action.replace("_", " ")
        raise PolicyRefusedError(
            f"site policy {policy.path} requires a signed image to {step}: `{shown or image}` "
            f"failed check `{verdict.failed_check}`: {verdict.detail}",
            details={
                "policy": str(policy.path),
                "action": action,
                "image": shown or str(image),
                "signature": verdict.to_dict(),
            },
        )
    return verdict


def require_signature(
    action: str, image: str | os.PathLike, *, shown: str | None = None
) -> SignatureVerdict | None:
    """The gate: None when the policy does not cover ``action``; else the passing verdict.

    Raises:
        BadInputError: the policy file is malformed (exit 2).
        PolicyRefusedError: ``image`` does not verify with the policy's keys (exit 1).
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown policy step {action!r}")
    policy = load_policy()
    if policy is None or not policy.requires(action):
        return None
    return check_image(policy, action, image, shown=shown)


def output_gate(
    action: str, output: str | os.PathLike, sign_key: str | os.PathLike | None = None
) -> Callable[[Path], dict]:
    """A build ``finalize`` step for ``output``: sign the temporary artifact, then gate it.

    With ``sign_key`` the temporary SIF is signed (statement embedded);
    then :func:`require_signature` checks it, so a refused output is never
    renamed into place (the build removes its own temporary file).
    Returns the metadata a signed artifact records.
    """
    if sign_key is not None:
        from scitex_container.apptainer.signing.keys import load_private_key

        load_private_key(sign_key)  # a bad key fails before apptainer builds anything

    def finalize(tmp: Path) -> dict:
        meta: dict[str, Any] = {}
        if sign_key is not None:
            from scitex_container.apptainer.signing.record import signed_fields
            from scitex_container.apptainer.signing.sign import sign_artifact

            done = sign_artifact(tmp, sign_key, name=Path(output).name, record={})
            meta.update(signed_fields(done.signer, done.statement_sha256, done.layout_sha256))
        require_signature(action, tmp, shown=os.fspath(output))
        return meta

    return finalize
