"""Signing keys: PEM key pairs that ``apptainer sign --key`` / ``verify --key`` accept.

Apptainer 1.4 signs SIF files with PEM keys (ECDSA, RSA, Ed25519; a
PKCS#8 ``PRIVATE KEY`` and a ``PUBLIC KEY``); it refuses encrypted private
keys.  :func:`new_keypair` writes ``<name>.key`` (0600) and ``<name>.pub``
and never replaces an existing file.  Keys a site already has are loaded
and checked here first, so a missing file, a key of the wrong kind or a
password-protected key without its password is a one-line
:class:`~scitex_container.errors.BadInputError` naming the file, never an
apptainer failure halfway through.  An encrypted private key is decrypted
(with the password in :data:`~scitex_container.envvars.KEY_PASSWORD`) into
a memory file apptainer reads through an inherited descriptor: the
decrypted key never touches a file.

A key's fingerprint is ``sha256:`` plus the sha256 of its DER
SubjectPublicKeyInfo (what ``openssl pkey -pubout -outform DER | sha256sum``
prints); PEM signatures carry no key id, so this is how a signer is named.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from scitex_container import envvars
from scitex_container.errors import BadInputError, PathKindError
from scitex_container.files.pathinfo import from_oserror, not_a_directory, not_found, tidy_path
from scitex_container.process import runner
from scitex_container.result import Result

KEY_NAME = "scitex-signing"
PRIVATE_SUFFIX = ".key"
PUBLIC_SUFFIX = ".pub"
KINDS = ("ecdsa-p256", "ed25519", "rsa-3072")
PUBLIC_GLOBS = ("*.pub", "*.pem")


@dataclass(frozen=True)
class KeyPair(Result):
    """A key pair written by :func:`new_keypair`."""

    private: Path
    public: Path
    kind: str
    fingerprint: str


@dataclass(frozen=True)
class PublicKey(Result):
    """A public key file and its fingerprint."""

    path: Path
    fingerprint: str
    kind: str


def _generate(kind: str):
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if kind == "ecdsa-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    if kind == "rsa-3072":
        return rsa.generate_private_key(public_exponent=65537, key_size=3072)
    raise BadInputError(f"unknown key type {kind!r} (one of {', '.join(KINDS)})", "--type")


def _kind_of(key) -> str | None:
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"ecdsa-{key.curve.name}"
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "ed25519"
    if isinstance(key, rsa.RSAPublicKey):
        return f"rsa-{key.key_size}"
    return None


def fingerprint_of(public_key) -> str:
    """``sha256:<hex>`` of the DER SubjectPublicKeyInfo."""
    from cryptography.hazmat.primitives import serialization as ser

    der = public_key.public_bytes(ser.Encoding.DER, ser.PublicFormat.SubjectPublicKeyInfo)
    return "sha256:" + hashlib.sha256(der).hexdigest()


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Create ``path`` with ``mode``; an existing file is an error, never replaced."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    except FileExistsError:
        raise BadInputError(
            "key file already exists; refusing to overwrite it", str(path)
        ) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException as exc:
        path.unlink(missing_ok=True)
        if isinstance(exc, OSError):  # a write's ENOSPC carries no file name: give it
            from scitex_container.files.pathinfo import from_oserror

            raise from_oserror(exc, path) from None
        raise
    os.chmod(path, mode)


def new_keypair(
    directory: str | os.PathLike, *, kind: str = "ecdsa-p256", name: str = KEY_NAME
) -> KeyPair:
    """Write ``DIR/<name>.key`` (0600, PKCS#8 PEM) and ``DIR/<name>.pub`` (PEM).

    Neither file may exist yet (BadInputError naming it otherwise); if the
    public key cannot be written the private key just made is removed.
    """

    if "/" in name or name in ("", ".", ".."):
        raise BadInputError(f"bad key name {name!r}", "--name")
    directory = Path(directory)
    private, public = directory / (name + PRIVATE_SUFFIX), directory / (name + PUBLIC_SUFFIX)
    for path in (private, public):
        if os.path.lexists(path):
            raise BadInputError("key file already exists; refusing to overwrite it", str(path))
    _check_directory(directory)  # the same refusal in a dry run
    if runner.is_dry_run():  # no key is made: no fingerprint of one that will never exist
        return KeyPair(private, public, kind, "")
    key = _generate(kind)
    made = [d for d in (directory, *directory.parents) if not os.path.lexists(d)]
    try:
        _write_pair(directory, key, private, public)
    except BaseException:
        for parent in made:  # nothing half-made: the directories we created go too
            with contextlib.suppress(OSError):
                os.rmdir(parent)
        raise
    return KeyPair(private, public, kind, fingerprint_of(key.public_key()))


def _check_directory(directory: Path) -> None:
    """Refuse a key directory that cannot be made or written, as writing it would."""
    import errno

    from scitex_container.files.pathinfo import from_oserror, not_writable

    where = directory
    while not os.path.lexists(where) and where != where.parent:
        where = where.parent
    try:  # a link loop or dangling link is said as such, as mkdir would
        is_dir = stat.S_ISDIR(os.stat(where).st_mode)
    except OSError as exc:
        raise from_oserror(exc, where) from None
    if not is_dir:
        cause = NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(directory))
        raise from_oserror(cause, directory)
    if not os.access(where, os.W_OK | os.X_OK):
        raise not_writable(where)


def _write_pair(directory: Path, key, private: Path, public: Path) -> None:
    from cryptography.hazmat.primitives import serialization as ser

    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        from scitex_container.files.pathinfo import from_oserror

        raise from_oserror(exc, exc.filename or directory) from None
    private_pem = key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption())
    public_pem = key.public_key().public_bytes(
        ser.Encoding.PEM, ser.PublicFormat.SubjectPublicKeyInfo
    )
    _write_new(private, private_pem, 0o600)
    try:
        _write_new(public, public_pem, 0o644)
    except BaseException:
        private.unlink(missing_ok=True)
        raise


def _read(path: str | os.PathLike) -> tuple[Path, bytes]:
    path = Path(path)
    try:
        if not stat.S_ISREG(os.stat(path).st_mode) and not path.is_dir():
            # a FIFO or device would block the read (and with it an MCP server)
            raise BadInputError("not a regular file (a key is a PEM file)", str(path))
        return path, path.read_bytes()
    except FileNotFoundError:
        raise not_found(path, "key file does not exist") from None
    except IsADirectoryError:
        raise BadInputError("a directory is not a key file", str(path)) from None
    except OSError as exc:  # permission (owner, mode), a link loop, a path through a file
        raise from_oserror(exc, path) from None


def _not_pem(path: Path, data: bytes, want: str) -> BadInputError:
    if b"BEGIN PGP" in data:
        return BadInputError(f"a PGP key; {want} must be a PEM key (see `key new`)", str(path))
    return BadInputError(f"not a PEM {want} (ECDSA, RSA or Ed25519)", str(path))


def load_public_key(path: str | os.PathLike) -> PublicKey:
    """Check that ``path`` is a PEM public key apptainer can verify with.

    A canonical PEM public key is read without cryptography (see
    :mod:`.spki`); its mathematics is left to apptainer, and
    :func:`recheck_public_key` names the file if apptainer then fails.
    """
    from scitex_container.apptainer.signing.spki import read_public_pem

    path, data = _read(path)
    if b"PRIVATE KEY-----" in data:
        raise BadInputError("a private key; verifying needs the public key (.pub)", str(path))
    found = read_public_pem(data)
    if found is not None:
        der, kind = found
        return PublicKey(path, "sha256:" + hashlib.sha256(der).hexdigest(), kind)
    return _load_public_key_strictly(path, data)


def _load_public_key_strictly(path: Path, data: bytes) -> PublicKey:
    from cryptography.hazmat.primitives import serialization as ser

    try:
        key = ser.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise _not_pem(path, data, "public key") from None
    kind = _kind_of(key)
    if kind is None:
        raise BadInputError(f"unsupported key type {type(key).__name__}", str(path))
    return PublicKey(path, fingerprint_of(key), kind)


def recheck_public_key(key: PublicKey) -> None:
    """Raise BadInputError naming the file if cryptography rejects ``key``.

    For a key that apptainer did not verify with: a well-formed key whose
    numbers are wrong (an EC point off its curve) passes :func:`load_public_key`
    and fails only here, so it stays a bad input (exit 2), not a failed check.
    """
    path, data = _read(key.path)
    _load_public_key_strictly(path, data)


def load_private_key(path: str | os.PathLike, password: bytes | None = None):
    """The private key in ``path`` (password from :data:`envvars.KEY_PASSWORD` if unset)."""
    from cryptography.hazmat.primitives import serialization as ser

    path, data = _read(path)
    if b"PRIVATE KEY-----" not in data:
        if b"PUBLIC KEY-----" in data:
            raise BadInputError("a public key; signing needs the private key", str(path))
        raise _not_pem(path, data, "private key")
    if password is None and os.environ.get(envvars.KEY_PASSWORD):
        password = os.environ[envvars.KEY_PASSWORD].encode()
    encrypted = b"ENCRYPTED" in data
    try:
        key = ser.load_pem_private_key(data, password=password if encrypted else None)
    except TypeError:
        raise BadInputError(
            f"password-protected key; set {envvars.KEY_PASSWORD} to its password", str(path)
        ) from None
    except ValueError:
        what = "wrong password for the key" if encrypted else "not a readable PEM private key"
        raise BadInputError(what, str(path)) from None
    if _kind_of(key.public_key()) is None:
        raise BadInputError(f"unsupported key type {type(key).__name__}", str(path))
    return key


@contextlib.contextmanager
def apptainer_private_key(
    path: str | os.PathLike, key=None
) -> Iterator[tuple[Path, str, tuple[int, ...]]]:
    """A key path apptainer can sign with, its fingerprint and the descriptors to pass on.

    An unencrypted PKCS#8 file is used as it is (no descriptor).  Any other
    private key (encrypted, or a traditional ``EC PRIVATE KEY``) is
    converted to PKCS#8 in memory only: a memory file (``memfd_create``)
    that apptainer opens as ``/proc/self/fd/N``, so the child must inherit
    descriptor ``N`` (``runner.run(..., pass_fds=fds)``).  No file ever holds
    the decrypted key; a SIGKILL at any moment leaves nothing behind (the
    kernel frees the memory with the last descriptor).
    """
    from cryptography.hazmat.primitives import serialization as ser

    key = key if key is not None else load_private_key(path)  # ``key``: already loaded
    fpr = fingerprint_of(key.public_key())
    data = Path(path).read_bytes()
    if data.lstrip().startswith(b"-----BEGIN PRIVATE KEY-----"):
        yield Path(path), fpr, ()
        return
    pem = key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption())
    fd = os.memfd_create("scitex-signing-key", os.MFD_CLOEXEC)
    try:
        view = memoryview(pem)
        while view:
            view = view[os.write(fd, view) :]
        yield Path(f"/proc/self/fd/{fd}"), fpr, (fd,)
    finally:
        os.close(fd)


def public_key_paths(
    key: str | os.PathLike | None = None, keyring: str | os.PathLike | None = None
) -> list[Path]:
    """The files named by ``--key`` and/or the ``*.pub``/``*.pem`` files in ``--keyring``.

    Nothing is parsed here (see :func:`public_keys`).
    """
    out = [Path(key)] if key is not None else []
    if keyring is not None:
        ring = Path(keyring)
        if not ring.is_dir():
            if (kind := not_a_directory(ring)) is not None:  # a FIFO, a device, a socket
                raise kind
            if ring.exists():
                raise PathKindError(f"{tidy_path(str(ring))}: not a directory")
            # a dangling link or a link loop is said as one
            raise not_found(ring, "keyring directory does not exist")
        found = sorted({p for g in PUBLIC_GLOBS for p in ring.glob(g) if p.is_file()})
        if not found:
            raise BadInputError("keyring holds no *.pub or *.pem public key", str(ring))
        out += found
    if not out:
        raise BadInputError("give a public key (--key) or a keyring directory (--keyring)")
    return out


def public_keys(
    key: str | os.PathLike | None = None, keyring: str | os.PathLike | None = None
) -> list[PublicKey]:
    """The public keys named by ``--key`` and/or every PEM public key in ``--keyring``."""
    return [load_public_key(p) for p in public_key_paths(key, keyring)]
