"""The site policy: which lifecycle steps require an image signed by the site's keys.

The one module that reads the policy files: the site's,
``/etc/scitex-container/policy.toml``, and a user's added one named by
:data:`~scitex_container.envvars.POLICY`::

    [require_signature]
    switch = true          # store `switch` / `rollback` to a SIF version
    deploy = true          # `deploy` of the active image
    session_start = true   # `session start`, before anything is submitted
    sandbox_to_sif = true  # `sandbox to-sif` outputs, before they are published
    pull = true            # `pull` from a registry, before the image becomes a version
    import = true          # `bundle import`, before the image becomes a version
    keys = ["/etc/scitex-container/keys/site.pub"]
    keyring = "/etc/scitex-container/keys"   # optional: every *.pub / *.pem in it

The site file, when it exists, always applies.  A policy named by the
environment only adds to it: its required steps are required too, and an
image must then verify with one of the site's keys *and* one of the added
policy's keys (each policy that covers a step is checked in turn).  It can
never remove a requirement of the site's.  The site file and every key or
keyring it names must be owned by root and writable by nobody else; an
added policy and its keys may also be owned by the caller
(:mod:`.policy_trust`; a refusal names path, owner and mode, exit 2).

No file at the default path and none named means no policy (nothing is gated).  A file
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

import contextlib
import os
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scitex_container import envvars
from scitex_container.apptainer.signing.keys import PublicKey, load_public_key, public_key_paths
from scitex_container.apptainer.signing.policy_trust import check_trusted_file, trusted_owners
from scitex_container.errors import (
    BadInputError,
    PolicyRefusedError,
    UntrustedStateError,
)
from scitex_container.files.pathinfo import not_found
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
    site: bool = True  #: the site's file (else a policy the caller added)

    def requires(self, action: str) -> bool:
        return action in self.require


def _site_policy_exists() -> bool:
    """Is there a site policy?  One we cannot look for is not "none": that is refused."""
    try:
        os.lstat(DEFAULT_PATH)
    except FileNotFoundError:
        return False
    except OSError as exc:  # EACCES on /etc/scitex-container: the policy may well be there
        raise BadInputError(
            f"cannot tell whether the site policy exists ({exc.strerror}); "
            "its folder must be searchable by every user",
            str(DEFAULT_PATH),
        ) from None
    return True


def policy_paths() -> list[tuple[Path, bool]]:
    """(path, is the site's) of every policy that applies: the site's first, when it exists."""
    out = [(DEFAULT_PATH, True)] if _site_policy_exists() else []
    named = os.environ.get(envvars.POLICY)
    if named and not (out and _same(Path(named), DEFAULT_PATH)):
        out.append((Path(named), False))
    return out


def _same(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _toml():
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - python 3.10
        import tomli as tomllib
    return tomllib


def _read(path: Path, site: bool) -> dict[str, Any]:
    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            raise BadInputError("the policy file is not a regular file", str(path))
        check_trusted_file(path, "the policy file", trusted_owners(site))
        data = path.read_bytes()
    except FileNotFoundError:
        raise not_found(path, "policy file does not exist") from None
    except OSError as exc:
        raise BadInputError(f"cannot read the policy file: {exc.strerror}", str(path)) from None
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


def _trusted_key(key_path: Path, what: str, owners: frozenset[int], directory: bool) -> None:
    with contextlib.suppress(FileNotFoundError):  # worded by the key loader
        check_trusted_file(key_path, what, owners, directory=directory)


def _load_keys(path: Path, table: dict[str, Any], site: bool) -> tuple[PublicKey, ...]:
    loaded: list[PublicKey] = []
    owners = trusted_owners(site)
    for field, key_path in _key_paths(path, table):
        try:
            if field.endswith("keyring"):
                _trusted_key(key_path, "the keyring", owners, True)
                for found in public_key_paths(keyring=key_path):
                    _trusted_key(found, "the key file", owners, False)
                    loaded.append(load_public_key(found))
            else:
                _trusted_key(key_path, "the key file", owners, False)
                loaded.append(load_public_key(key_path))
        except UntrustedStateError:
            raise
        except BadInputError as exc:
            where = f" {exc.where}" if exc.where and exc.where != str(key_path) else ""
            detail = exc.detail
            if not exc.where and detail.startswith(f"{key_path}: "):  # the path said once
                detail = detail[len(f"{key_path}: ") :]
            raise BadInputError(f"`{field}`: {key_path}{where}: {detail}", str(path)) from None
    return tuple(loaded)


def parse_policy(path: str | os.PathLike, *, site: bool = False) -> Policy:
    """Read and check the policy file at ``path`` (see the module docstring).

    ``site``: the site's file (it and its keys must be owned by root).
    """
    path = Path(path)
    doc = _read(path, site)
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
    keys = _load_keys(path, table, site)
    if require and not keys:
        raise BadInputError(
            f"`{TABLE}` requires signatures but names no `keys` or `keyring`", str(path)
        )
    return Policy(path, require, keys, site)


def load_policies() -> tuple[Policy, ...]:
    """Every policy that applies: the site's (when its file exists), then the added one."""
    return tuple(parse_policy(path, site=site) for path, site in policy_paths())


def load_policy() -> Policy | None:
    """The first policy that applies (the site's when it exists), or None."""
    found = load_policies()
    return found[0] if found else None


def check_image(
    policy: Policy, action: str, image: str | os.PathLike, *, shown: str | None = None
) -> SignatureVerdict:
    """Verify ``image`` for ``action`` under ``policy``; raise if it does not verify.

    ``shown`` names the image in the message when ``image`` is a temporary file.
    """
    from scitex_container.apptainer.signing.signature_check import verify_signature

    verdict = verify_signature(image, list(policy.keys), trusted=True)
    if not verdict.ok:
        step = action.replace("_", " ")
        which = "site" if policy.site else "added"
        raise PolicyRefusedError(
            f"{which} policy {policy.path} requires a signed image to {step}: `{shown or image}` "
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
    """The gate: None when no policy covers ``action``; else the (last) passing verdict.

    Raises:
        BadInputError: a policy file is malformed, or it or a key is not
            trusted (UntrustedStateError) (exit 2).
        PolicyRefusedError: ``image`` does not verify with the policy's keys (exit 1).
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown policy step {action!r}")
    verdict = None
    for policy in load_policies():  # each policy that covers the step must pass
        if policy.requires(action):
            verdict = check_image(policy, action, image, shown=shown)
    return verdict


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
