"""Checking a signed image: apptainer's signature, then the statement it covers.

Checks, in order (the first failure is the verdict's ``failed_check``):

- ``sif``: the path is a SIF file;
- ``signature:missing``: it holds a signature object (none: never signed,
  or stripped with ``apptainer sif del``);
- ``signature``: ``apptainer verify --key K --all`` passes for one of the
  given keys (the signer); its failure is named more exactly from
  apptainer's message: ``signature:header``, ``signature:object N``,
  ``signature:descriptor N``, ``signature:key`` (signed, but not by a
  given key: e.g. re-signed with another key);
- ``layout:...``: the bytes apptainer does not sign (header arch, times,
  descriptor counts and offsets, padding) are what the signed bytes imply
  (:func:`..sif.layout.check_layout`; ``layout:arch``, ``layout:times``,
  ``layout:descriptors``, ``layout:descriptor N``, ``layout:padding``);
- ``statement``: the in-toto statement object is there, parses, and lies in
  the signed object group;
- ``subject``: the statement's subject digest equals the primary
  partition's digest in the verified signature's payload (a statement
  copied from another image fails here).  Apptainer has just checked those
  digests against the bytes, so nothing is hashed twice.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scitex_container.apptainer import tool
from scitex_container.apptainer.sif.header import SifInfo, is_sif, read_object, read_sif
from scitex_container.apptainer.sif.layout import check_layout, layout_sha256
from scitex_container.apptainer.signing.keys import PublicKey, recheck_public_key
from scitex_container.apptainer.signing.statement import parse_statement, subject_sha256, summary
from scitex_container.errors import BadInputError
from scitex_container.process import runner
from scitex_container.result import Result

SIGNATURE = 0x4005
GROUP = 1


@dataclass(frozen=True)
class SignatureVerdict(Result):
    """The outcome of :func:`verify_signature`."""

    image: str
    ok: bool
    failed_check: str | None
    detail: str
    signer: str | None = None  #: fingerprint of the key that verified
    signer_key: str | None = None
    statement_sha256: str | None = None
    layout_sha256: str | None = None  #: of the unsigned bytes (see ..sif.layout)
    builder: str | None = None
    materials: tuple[dict, ...] = ()
    checks: tuple[dict, ...] = field(default=())


def _classify(message: str) -> str:
    if m := re.search(r"data object descriptor integrity compromised: (\d+)", message):
        return f"signature:descriptor {m.group(1)}"
    if m := re.search(r"data object integrity compromised: (\d+)", message):
        return f"signature:object {m.group(1)}"
    if "header integrity compromised" in message or "invalid SIF" in message:
        return "signature:header"
    if "threshold" in message or "key" in message.lower():
        return "signature:key"
    return "signature"


def _apptainer_verify(image: Path, key: Path, cmd: str | None = None) -> tuple[bool, str]:
    argv: list[str | os.PathLike] = [cmd or tool.detect_container_cmd(), "verify", "--key", key]
    argv += ["--all", image]
    done = runner.run(argv, check=False, readonly=True, timeout=3600)
    text = (done.stderr or "") + (done.stdout or "")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    fatal = [ln for ln in lines if ln.startswith("FATAL")] or lines[-1:] or [""]
    message = re.sub(r"^FATAL:\s*(Failed to verify container:\s*)?", "", fatal[-1])
    return done.returncode == 0, message


class ApptainerCheck(threading.Thread):
    """``apptainer verify --key K --all IMAGE`` for each key in turn (until one passes).

    Run in the background so that everything else ``verify --key`` does
    (imports, the def and lock checks, reading metadata) overlaps apptainer's
    hashing instead of adding to it.  :meth:`outcomes` waits for it.
    """

    def __init__(self, image: str | os.PathLike, keys: list[Path], cmd: str | None = None) -> None:
        super().__init__(name="apptainer-verify", daemon=True)
        self.image, self.keys, self.cmd = Path(image), keys, cmd
        self._results: list[tuple[bool, str]] = []
        self._error: BaseException | None = None

    def run(self) -> None:
        try:
            for key in self.keys:
                self._results.append(_apptainer_verify(self.image, key, self.cmd))
                if self._results[-1][0]:
                    break
        except BaseException as exc:  # re-raised in the caller's thread
            self._error = exc

    def outcomes(self) -> list[tuple[bool, str]]:
        """(passed, message) per key tried, in order."""
        if self.ident is not None:  # started in the background (else run() ran inline)
            self.join()
        if self._error is not None:
            raise self._error
        return self._results


def _signed_partition_digest(image: Path, info: SifInfo) -> str | None:
    """The primary partition's sha256 as recorded in the (verified) signature payload."""
    part = info.primary_partition()
    group = sorted((o for o in info.objects if o.group == GROUP), key=lambda o: o.id)
    if part is None or part not in group:
        return None
    rel = group.index(part)
    for sig in (o for o in info.objects if o.datatype == SIGNATURE):
        try:
            envelope = json.loads(read_object(image, sig))
            payload = json.loads(base64.b64decode(envelope["payload"]))
            for obj in payload.get("objects", []):
                if obj.get("relativeId") == rel:
                    return str(obj.get("objectDigest", "")).removeprefix("sha256:")
        except (ValueError, KeyError, TypeError):
            continue
    return None


def verify_signature(
    image: str | os.PathLike,
    keys: list[PublicKey],
    *,
    running: ApptainerCheck | None = None,
    trusted: bool = False,
) -> SignatureVerdict:
    """Check ``image`` against ``keys`` (see the module docstring).

    ``running``: apptainer already started on the same keys, in that order.
    ``trusted``: the verdict decides for the site policy, so apptainer must be
    a root-owned program (:func:`..tool.trusted_container_cmd`), never one
    the caller's environment names.
    """
    from scitex_container.apptainer.lock.provenance import STATEMENT_OBJECT

    path = Path(image)
    checks: list[dict[str, Any]] = []

    def fail(name: str, detail: str, **extra: Any) -> SignatureVerdict:
        checks.append({"name": name, "status": "fail", "detail": detail})
        return SignatureVerdict(str(path), False, name, detail, checks=tuple(checks), **extra)

    def ok(name: str, detail: str) -> None:
        checks.append({"name": name, "status": "pass", "detail": detail})

    if path.is_dir() or not is_sif(path):
        what = "a sandbox directory has no signature" if path.is_dir() else "not a SIF image"
        return fail("sif", what if path.exists() else "image does not exist")
    ok("sif", "SIF image")
    info = read_sif(path)
    if not any(o.datatype == SIGNATURE for o in info.objects):
        return fail("signature:missing", "the image holds no signature (unsigned or stripped)")
    first = ""
    signer: PublicKey | None = None
    if running is None:
        cmd = tool.trusted_container_cmd() if trusted else None
        running = ApptainerCheck(path, [k.path for k in keys], cmd)
        running.run()
    for key, (passed, message) in zip(keys, running.outcomes(), strict=False):
        if passed:
            signer = key
            break
        recheck_public_key(key)  # a key apptainer could not load: exit 2 naming it
        first = first or message
    if signer is None:
        names = ", ".join(k.fingerprint[:19] for k in keys)
        return fail(_classify(first), f"{first} (keys tried: {names})")
    ok("signature", f"signed by {signer.fingerprint} ({signer.path})")
    who: dict[str, Any] = {"signer": signer.fingerprint, "signer_key": str(signer.path)}
    problem = check_layout(path)
    if problem is not None:
        return fail(problem.check, f"{problem.detail} (a byte apptainer does not sign)", **who)
    who["layout_sha256"] = layout_sha256(path)
    ok("layout", "the unsigned header, descriptor and padding bytes are consistent")
    found = info.named(STATEMENT_OBJECT)
    if not found:
        return fail("statement", "no in-toto statement in the image", **who)
    obj = max(found, key=lambda o: o.id)
    data = read_object(path, obj)
    digest = hashlib.sha256(data).hexdigest()
    who["statement_sha256"] = digest
    if obj.group != GROUP:
        return fail(
            "statement", f"the statement (object {obj.id}) is not in the signed group", **who
        )
    try:
        statement = parse_statement(data, f"{path}#{STATEMENT_OBJECT}")
    except BadInputError as exc:
        return fail("statement", exc.detail, **who)
    about = summary(statement)
    who.update(builder=about["builder"], materials=tuple(about["materials"]))
    ok("statement", f"in-toto statement {digest[:16]}... from {about['builder']}")
    signed = _signed_partition_digest(path, info)
    claimed = subject_sha256(statement)
    if not signed or signed != claimed:
        detail = (
            f"statement subject sha256 {claimed[:16]}... is not this image's partition "
            f"({(signed or 'not signed')[:16]}...): the statement is from another image"
        )
        return fail("subject", detail, **who)
    ok("subject", f"statement subject matches the signed partition {signed[:16]}...")
    return SignatureVerdict(
        str(path), True, None, f"signed by {signer.fingerprint}", checks=tuple(checks), **who
    )


def verify_with_signature(
    image: str | os.PathLike,
    def_path: str | os.PathLike | None,
    lock_dir: str | os.PathLike | None,
    key: str | os.PathLike | None,
    keyring: str | os.PathLike | None,
) -> dict[str, Any]:
    """``verify``'s dict, plus ``signature`` (the verdict) when a key or keyring is given.

    The signature is checked first; when it holds, ``verify`` does not hash
    the whole file again (apptainer just hashed every signed object; see
    :mod:`..lock.integrity`).
    """
    if key is None and keyring is None:
        from scitex_container.apptainer.lock.verify_image import verify_image

        return verify_image(image, def_path, lock_dir).to_dict()
    from scitex_container.apptainer.signing.keys import load_public_key, public_key_paths

    # The keys first (cheap: no cryptography for a plain PEM public key), so
    # a bad --key is exit 2 before apptainer starts.
    keys = [load_public_key(p) for p in public_key_paths(key, keyring)]
    running = ApptainerCheck(image, [k.path for k in keys]) if is_sif(image) else None
    if running is not None:
        running.start()
    found: list[SignatureVerdict] = []

    def layout() -> str | None:  # asked by verify_image once its def and lock checks are done
        found.append(verify_signature(image, keys, running=running))
        return found[0].layout_sha256 if found[0].ok else None

    try:  # while apptainer hashes: check the def and the lock
        from scitex_container.apptainer.lock.verify_image import verify_image

        result = verify_image(image, def_path, lock_dir, signed_layout=layout).to_dict()
    finally:
        if running is not None:
            running.join()
    verdict = found[0] if found else verify_signature(image, keys, running=running)
    result["signature"] = verdict.to_dict()
    if not verdict.ok:
        result["overall"] = "fail"
    return result
