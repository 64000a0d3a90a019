"""The manifest of a bundle: every member with its sha256, and an optional signature.

A bundle is an uncompressed tar (the SIF is compressed already) whose first
member is ``manifest.json``; ``manifest.sig`` (when the exporter gave a
key) follows it; then the members the manifest lists, in its order::

    image.sif                       the SIF (signature and embedded objects inside)
    image.sif.lock                  the lock, with its ``# artifact:`` lines
    statement.intoto.json           the in-toto statement
    sbom.cdx.json                   the CycloneDX SBOM
    artifacts/sha256/<hex>          each artifact the lock names (``--archive``)

Each member entry records its name, role, size and sha256; an artifact
also records its archive index entries (``dpkg:hello=2.10-3`` -> file name,
source...), so the importing site's archive serves it under the same names.
The manifest is deterministic JSON.  Its signature (raw bytes
over the manifest's bytes, with the exporter's PEM key: Ed25519, ECDSA
P-256 with SHA-256, or RSA PKCS#1 v1.5 with SHA-256) authenticates the
members that are not inside the signed SIF (the lock's artifact lines and
the artifacts themselves).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from scitex_container.errors import TransferError
from scitex_container.result import Result

FORMAT = "scitex-container-bundle/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
IMAGE = "image.sif"
MAX_MANIFEST = 16 << 20
ROLES = ("image", "lock", "statement", "sbom", "artifact")
#: The one role each fixed member name has (an artifact is ``artifacts/sha256/<hex>``).
ROLE_OF = {
    IMAGE: "image",
    "image.sif.lock": "lock",
    "statement.intoto.json": "statement",
    "sbom.cdx.json": "sbom",
}
_NAME = re.compile(
    r"^(?:image\.sif(?:\.lock)?|statement\.intoto\.json|sbom\.cdx\.json"
    r"|artifacts/sha256/[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class Member(Result):
    name: str
    role: str
    size: int
    sha256: str
    entries: dict[str, Any] | None = None  #: artifacts: archive index entry -> record


@dataclass(frozen=True)
class BundleManifest(Result):
    image: dict[str, Any]  #: name, version, sha256 of the SIF
    members: tuple[Member, ...]
    signer: dict[str, Any] | None = None  #: the claim read from the SIF (never verified here)

    def render(self) -> bytes:
        data = {
            "format": FORMAT,
            "image": self.image,
            "members": [
                {k: v for k, v in m.to_dict().items() if v is not None} for m in self.members
            ],
        }
        if self.signer:
            data["signer"] = self.signer
        return json.dumps(data, indent=2, sort_keys=True).encode() + b"\n"

    def member(self, name: str) -> Member | None:
        return next((m for m in self.members if m.name == name), None)


def _bad(detail: str) -> TransferError:
    return TransferError(f"bundle manifest: {detail}", {"member": MANIFEST, "check": "manifest"})


def parse_manifest(data: bytes) -> BundleManifest:
    """Parse and check a manifest: known format, members unique, well-formed, one image."""
    try:
        doc = json.loads(data)
    except ValueError:
        raise _bad("not JSON") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise _bad(f"not a {FORMAT} manifest")
    image, rows = doc.get("image"), doc.get("members")
    if not isinstance(image, dict) or not isinstance(rows, list):
        raise _bad("`image` must be an object and `members` a list")
    members: list[Member] = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise _bad(f"members[{i}] is not an object")
        name, role, size, sha = (row.get(k) for k in ("name", "role", "size", "sha256"))
        if not isinstance(name, str) or not _NAME.match(name):
            raise _bad(f"members[{i}].name {name!r} is not a bundle member name")
        if role not in ROLES or not isinstance(size, int) or size < 0:
            raise _bad(f"members[{i}] ({name}): bad role or size")
        expected = ROLE_OF.get(name, "artifact")
        if role != expected:
            raise _bad(f"members[{i}] ({name}): the role of this member is {expected}, not {role}")
        if not isinstance(sha, str) or not re.fullmatch(r"[0-9a-f]{64}", sha):
            raise _bad(f"members[{i}] ({name}): sha256 must be 64 hex digits")
        if role == "artifact" and name != f"artifacts/sha256/{sha}":
            raise _bad(f"members[{i}] ({name}): an artifact is named by its sha256")
        entries = row.get("entries")
        if role == "artifact" and not (
            isinstance(entries, dict)
            and entries
            and all(isinstance(r, dict) and r.get("sha256") == sha for r in entries.values())
        ):
            raise _bad(f"members[{i}] ({name}): an artifact needs its archive index entries")
        members.append(Member(name, role, size, sha, entries if role == "artifact" else None))
    names = [m.name for m in members]
    if len(set(names)) != len(names):
        raise _bad("a member is listed twice")
    images = [m for m in members if m.role == "image"]
    if len(images) != 1 or images[0].name != IMAGE or image.get("sha256") != images[0].sha256:
        raise _bad(f"exactly one image member `{IMAGE}` whose sha256 is image.sha256")
    signer = doc.get("signer")
    return BundleManifest(image, tuple(members), signer if isinstance(signer, dict) else None)


# -- the manifest's signature ---------------------------------------------------------
def sign_manifest(data: bytes, private_key: Any) -> bytes:
    """A raw signature of ``data`` with a loaded private key (see the module docstring)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

    if isinstance(private_key, ed25519.Ed25519PrivateKey):
        return private_key.sign(data)
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        return private_key.sign(data, ec.ECDSA(hashes.SHA256()))
    if isinstance(private_key, rsa.RSAPrivateKey):
        return private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    raise TransferError(f"cannot sign a bundle with a {type(private_key).__name__}")


def signed_by(data: bytes, signature: bytes, public_key_paths: list[Any]) -> str | None:
    """The fingerprint of the first key in ``public_key_paths`` that verifies, else None."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

    for key in public_key_paths:
        public = ser.load_pem_public_key(key.path.read_bytes())
        try:
            if isinstance(public, ed25519.Ed25519PublicKey):
                public.verify(signature, data)
            elif isinstance(public, ec.EllipticCurvePublicKey):
                public.verify(signature, data, ec.ECDSA(hashes.SHA256()))
            elif isinstance(public, rsa.RSAPublicKey):
                public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
            else:
                continue
        except (InvalidSignature, ValueError):
            continue
        return str(key.fingerprint)
    return None
