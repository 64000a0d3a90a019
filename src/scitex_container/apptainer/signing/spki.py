"""A PEM public key's kind and DER bytes, read without the cryptography package.

``verify --key`` needs of a public key only its fingerprint (the sha256 of
its DER SubjectPublicKeyInfo) and its kind; apptainer itself checks the
key.  Importing cryptography (its Rust extension, ~60 ms of CPU) beside
apptainer's hashing slows apptainer down on a busy machine, so the common,
canonical forms are read here:

- ``ecdsa-secp256r1`` / ``secp384r1`` / ``secp521r1``: id-ecPublicKey with a
  named curve and an uncompressed point of the curve's size;
- ``ed25519``: id-Ed25519, no parameters, a 32-byte key;
- ``rsa-<bits>``: rsaEncryption, NULL parameters, a modulus and an exponent.

Only strict DER (minimal lengths and integers, nothing left over) in one
``PUBLIC KEY`` block with nothing around it is accepted, so the bytes are
exactly what cryptography would serialise and the fingerprint is the same.
Anything else returns ``None``: the caller then asks cryptography, which
gives the precise error (or a result for a less common but valid form).
What this does not check is the mathematics (an EC point on its curve, an
RSA modulus's factors): a key that fails there also fails apptainer's
check, and :func:`..keys.recheck_public_key` then names the file.
"""

from __future__ import annotations

import base64

BEGIN = b"-----BEGIN PUBLIC KEY-----"
END = b"-----END PUBLIC KEY-----"

_EC = bytes.fromhex("2a8648ce3d0201")  # 1.2.840.10045.2.1 id-ecPublicKey
_ED25519 = bytes.fromhex("2b6570")  # 1.3.101.112
_RSA = bytes.fromhex("2a864886f70d010101")  # 1.2.840.113549.1.1.1 rsaEncryption
_CURVES = {  # named curve OID -> (name as cryptography gives it, coordinate bytes)
    bytes.fromhex("2a8648ce3d030107"): ("secp256r1", 32),
    bytes.fromhex("2b81040022"): ("secp384r1", 48),
    bytes.fromhex("2b81040023"): ("secp521r1", 66),
}
_SEQ, _INT, _BITS, _NULL, _OID = 0x30, 0x02, 0x03, 0x05, 0x06
_NOT_STRICT = "not strict DER of a supported key"  # a ValueError that never leaves here


def _tlv(buf: bytes, pos: int, tag: int) -> tuple[bytes, int]:
    """The value of the element of type ``tag`` at ``pos``, and the position after it."""
    if pos + 2 > len(buf) or buf[pos] != tag:
        raise ValueError(_NOT_STRICT)
    first, pos = buf[pos + 1], pos + 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if not 1 <= count <= 4 or pos + count > len(buf) or buf[pos] == 0:
            raise ValueError(_NOT_STRICT)
        length = int.from_bytes(buf[pos : pos + count], "big")
        if length < 0x80:  # the short form was required
            raise ValueError(_NOT_STRICT)
        pos += count
    if pos + length > len(buf):
        raise ValueError(_NOT_STRICT)
    return buf[pos : pos + length], pos + length


def _whole(buf: bytes, tag: int) -> bytes:
    value, end = _tlv(buf, 0, tag)
    if end != len(buf):
        raise ValueError(_NOT_STRICT)
    return value


def _positive_int(value: bytes) -> int:
    if not value or value[0] & 0x80 or (len(value) > 1 and value[0] == 0 and value[1] < 0x80):
        raise ValueError(_NOT_STRICT)  # empty, negative, or a superfluous leading zero
    return int.from_bytes(value, "big")


def _kind(der: bytes) -> str:
    spki = _whole(der, _SEQ)
    algorithm, pos = _tlv(spki, 0, _SEQ)
    bits, end = _tlv(spki, pos, _BITS)
    if end != len(spki) or not bits or bits[0] != 0:
        raise ValueError(_NOT_STRICT)
    key = bits[1:]
    oid, pos = _tlv(algorithm, 0, _OID)
    params = algorithm[pos:]
    if oid == _ED25519 and not params and len(key) == 32:
        return "ed25519"
    if oid == _EC and params:
        curve = _CURVES.get(_whole(params, _OID))
        if curve and len(key) == 1 + 2 * curve[1] and key[0] == 0x04:
            return f"ecdsa-{curve[0]}"
    if oid == _RSA and params == bytes([_NULL, 0]):
        numbers = _whole(key, _SEQ)
        modulus, pos = _tlv(numbers, 0, _INT)
        exponent, end = _tlv(numbers, pos, _INT)
        n, e = _positive_int(modulus), _positive_int(exponent)
        if end == len(numbers) and n > 1 and e > 1:
            return f"rsa-{n.bit_length()}"
    raise ValueError(_NOT_STRICT)


def read_public_pem(data: bytes) -> tuple[bytes, str] | None:
    """``(DER SubjectPublicKeyInfo, kind)`` of a canonical PEM public key, else ``None``."""
    text = data.strip()
    if not (text.startswith(BEGIN) and text.endswith(END)):
        return None
    body = text[len(BEGIN) : -len(END)]
    if b"-" in body:  # a second block, or another label inside
        return None
    try:
        der = base64.b64decode(b"".join(body.split()), validate=True)
        return der, _kind(der)
    except ValueError:  # binascii.Error is one too; never leaves this module
        return None
