"""Start ``verify --key``'s signature check before click and the command are loaded.

``apptainer verify`` of a large image is most of ``verify --key``'s time;
the interpreter, click and the command's imports (~0.15 s here) would
otherwise all come before it.  This recognises only the plainest form of
the command line, without click::

    scitex-container [--json|-v|-q]... verify IMAGE --key PUB [--def F] [--lock-dir D] [--json]

with IMAGE a SIF file, PUB a plain PEM public key (one that
:mod:`..apptainer.signing.spki` reads: a private key, any other PEM, or a
key only cryptography reads starts nothing), F a file and D a directory.
Anything else (``--dry-run``, ``--keyring``, ``--help``, a repeated or
unknown option, a missing file) starts nothing here: click
parses the command line as always, with the same checks and messages, and
``verify`` starts apptainer itself.  What starts here is exactly the
command ``verify`` runs first (:func:`..apptainer.signing.early.verify_argv`);
the full parse still runs, and a check it does not claim is stopped at exit.
"""

from __future__ import annotations

import os

ROOT_FLAGS = frozenset({"--json", "-v", "--verbose", "-q", "--quiet"})
VALUED = ("--key", "--def", "--lock-dir")


def plain_verify(args: list[str]) -> tuple[str, str] | None:
    """(IMAGE, PUB) when ``args`` is the plain ``verify IMAGE --key PUB`` form, else None."""
    i = 0
    while i < len(args) and args[i] in ROOT_FLAGS:
        i += 1
    if i >= len(args) or args[i] != "verify":
        return None
    values: dict[str, str] = {}
    positional: list[str] = []
    rest = args[i + 1 :]
    j = 0
    while j < len(rest):
        arg = rest[j]
        name, eq, value = arg.partition("=")
        if arg == "--json":
            pass
        elif name in VALUED and name not in values and eq:
            values[name] = value
        elif arg in VALUED and arg not in values and j + 1 < len(rest):
            j += 1
            values[arg] = rest[j]
        elif arg.startswith("-") or positional:
            return None
        else:
            positional.append(arg)
        j += 1
    if len(positional) != 1 or not values.get("--key"):
        return None
    image, key = positional[0], values["--key"]
    if not os.path.isfile(key) or not _public_pem(key):
        return None
    if "--def" in values and not os.path.isfile(values["--def"]):
        return None
    if "--lock-dir" in values and not os.path.isdir(values["--lock-dir"]):
        return None
    from scitex_container.apptainer.sif.magic import is_sif

    if not os.path.isfile(image) or not is_sif(image):
        return None
    return image, key


def _public_pem(path: str) -> bool:
    """A PEM public key ``verify`` will read as it is (see :mod:`..signing.spki`)."""
    from scitex_container.apptainer.signing.spki import read_public_pem

    try:
        with open(path, "rb") as fh:
            data = fh.read(1 << 16)
    except OSError:
        return False
    return read_public_pem(data) is not None  # None for a private key too


def maybe_prestart(args: list[str]) -> None:
    """Start the signature check now when ``args`` is the plain form (else nothing)."""
    found = plain_verify(args)
    if found is None:
        return
    from scitex_container import interrupts
    from scitex_container.apptainer.signing import early
    from scitex_container.errors import ScitexError

    interrupts.install()  # SIGTERM and SIGHUP take Ctrl-C's path from here on
    try:
        early.prestart(*found)
    except (ScitexError, OSError):  # no apptainer: verify reports it as always
        return
