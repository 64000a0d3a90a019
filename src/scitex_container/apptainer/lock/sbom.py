"""CycloneDX SBOM of a lock or an image, built with ``cyclonedx-python-lib``.

Components carry package URLs: ``pkg:pypi/<name>@<version>``,
``pkg:deb/debian/<name>@<version>`` (``?arch=`` for a foreign
architecture), ``pkg:npm/<scope>/<name>@<version>``, ``pkg:apk/alpine/...``.
Editable, VCS and URL pip installs have no version; their ``pip freeze``
line is kept as the property ``scitex:pip-requirement``.  The output is
deterministic: components sorted by bom-ref, the serial number a UUID
derived from the content, the timestamp the lock's capture date (left out
when the lock has none).  An SBOM can be embedded in a SIF as its SBOM data
object (``apptainer sif add --datatype 9 --sbomformat cyclonedx-json``).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import uuid
import warnings
from pathlib import Path
from typing import Any

from scitex_container._version import __version__
from scitex_container.apptainer.lock.lockfile import Lock, read_lock
from scitex_container.apptainer.lock.provenance import SBOM_OBJECT
from scitex_container.errors import BadInputError
from scitex_container.files.fsutil import atomic_write_text
from scitex_container.files.pathinfo import from_oserror
from scitex_container.process import runner

_NAMESPACE = uuid.UUID("6f1f2b0e-4c47-5d0a-9a53-5c1e7c0d2a11")
_DIRECT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])? @ (.+)$")


def _components(lock: Lock) -> list[Any]:
    from cyclonedx.model import HashAlgorithm, HashType, Property
    from cyclonedx.model.component import Component, ComponentType
    from packageurl import PackageURL

    out = []

    def add(
        purl: PackageURL,
        name: str,
        version: str | None,
        group: str | None = None,
        props: tuple[tuple[str, str], ...] = (),
        key: str = "",
    ) -> None:
        ref = purl.to_string()
        digest = lock.artifacts.get(key)  # the archived artifact's sha256, if archived
        hashes = [HashType(alg=HashAlgorithm.SHA_256, content=digest)] if digest else []
        out.append(
            Component(
                type=ComponentType.LIBRARY,
                name=name,
                version=version or None,
                group=group,
                purl=purl,
                bom_ref=ref,
                hashes=hashes,
                properties=[Property(name=k, value=v) for k, v in props],
            )
        )

    for key, version in lock.pip.items():
        if version:
            add(PackageURL("pypi", name=key, version=version), key, version, key=f"pip:{key}")
            continue
        m = _DIRECT.match(key)
        name = m.group(1) if m else key.removeprefix("-e ").strip().rstrip("/").rsplit("/", 1)[-1]
        add(
            PackageURL(
                "pypi",
                name=name.lower(),
                qualifiers={"scitex_line": key}
                if not m
                else {"download_url": m.group(3).split("#")[0]},
            ),
            name,
            None,
            props=(("scitex:pip-requirement", key),),
            key=f"pip:{key}",
        )
    for key, version in lock.dpkg.items():
        name, _, arch = key.partition(":")
        quals = {"arch": arch} if arch else {}
        purl = PackageURL("deb", "debian", name, version, quals or None)
        add(purl, name, version, key=f"dpkg:{key}")
    for key, version in lock.node_versions.items():
        scope, _, name = key.rpartition("/")
        purl = PackageURL("npm", scope or None, name, version)
        add(purl, name, version, group=scope or None, key=f"node:{key}")
    for key, version in lock.apk.items():
        add(PackageURL("apk", "alpine", key, version), key, version)
    return sorted(out, key=lambda c: str(c.bom_ref.value))


def sbom_document(
    lock: Lock, *, subject: str = "image", signature: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The CycloneDX (1.6) JSON document of ``lock`` as a dict.

    ``signature`` (:func:`~scitex_container.apptainer.signing.claim.signature_claim`)
    adds the signer and statement digest as ``scitex-container:*`` metadata properties.
    """
    from cyclonedx.model import HashAlgorithm, HashType
    from cyclonedx.model.bom import Bom, BomMetaData
    from cyclonedx.model.component import Component, ComponentType
    from cyclonedx.output.json import JsonV1Dot6

    components = _components(lock)
    content = "\n".join(str(c.bom_ref.value) for c in components)
    content += f"\n{subject}\n{lock.image_sha256}\n{lock.image_id}"
    serial = uuid.uuid5(_NAMESPACE, hashlib.sha256(content.encode()).hexdigest())
    image = Component(
        type=ComponentType.CONTAINER, name=subject, bom_ref="image", version=lock.image_id or None
    )
    if lock.image_sha256:
        image.hashes.add(HashType(alg=HashAlgorithm.SHA_256, content=lock.image_sha256))
    stamp = _timestamp(lock.captured_at)
    meta = BomMetaData(
        component=image, timestamp=stamp or _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
    )
    bom = Bom(components=components, serial_number=serial, metadata=meta)
    with warnings.catch_warnings():  # a flat package list has no dependency graph
        warnings.simplefilter("ignore", UserWarning)
        data = json.loads(JsonV1Dot6(bom).output_as_string())
    md = data.setdefault("metadata", {})
    if stamp is None:
        md.pop("timestamp", None)
    # The library names itself as a tool; add ours so the SBOM says what made it.
    tools = md.setdefault("tools", {}).setdefault("components", [])
    tools.append({"type": "application", "name": "scitex-container", "version": __version__})
    tools.sort(key=lambda t: (t.get("name", ""), t.get("version", "")))
    if signature and signature.get("signed"):
        props = md.setdefault("properties", [])
        for key in ("signer", "statement_sha256"):
            props.append({"name": f"scitex-container:{key}", "value": signature[key] or "unknown"})
        if signature.get("keyid"):  # the signature's own key id (SSH-style SHA256:...)
            props.append({"name": "scitex-container:signature_keyid", "value": signature["keyid"]})
    return data


def _timestamp(value: str) -> _dt.datetime | None:
    if not value:
        return None
    try:
        return _dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=_dt.timezone.utc)
    except ValueError:
        return None


def render_sbom(
    lock: Lock, *, subject: str = "image", signature: dict[str, Any] | None = None
) -> str:
    doc = sbom_document(lock, subject=subject, signature=signature)
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def lock_of(source: str | os.PathLike) -> tuple[Lock, str]:
    """The lock behind ``source`` (a lock file, a SIF or a sandbox) and a subject name."""
    from scitex_container.apptainer.lock.capture import capture_lock
    from scitex_container.apptainer.sif.header import is_sif

    path = Path(source)
    if path.is_file() and not is_sif(path):
        _refuse_unless_lock(path)
        return read_lock(path), path.name.removesuffix(".lock")
    return capture_lock(path, captured_at=""), path.name


def _refuse_unless_lock(path: Path) -> None:
    """A file that is neither a SIF nor a lock (a def, a README) refused as such, not
    parsed as a lock: a lock's first line that is not a comment is a ``[section]``."""
    from scitex_container.apptainer.lock.lockfile import HEADER, SECTIONS

    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            head = fh.read(1 << 16)
    except OSError as exc:
        raise from_oserror(exc, path) from None
    first = next(
        (s for s in (line.strip() for line in head.splitlines()) if s and not s.startswith("#")),
        "",
    )
    if head.startswith(HEADER) or (first.startswith("[") and first[1:-1] in SECTIONS):
        return  # a lock (a malformed one is then refused at its file:line)
    is_def = re.match(r"(?i)bootstrap\s*:", first) is not None
    what = "a def file (build it, then give its image)" if is_def else "none of them"
    raise BadInputError(
        f"expected a SIF image, a sandbox directory or a lock file; this is {what}", str(path)
    )


def _embed_and_resign(source: str | os.PathLike, lock: Lock, subject: str, key) -> dict:
    """Embed the SBOM into a SIF and (re-)sign it with ``key`` in one recorded step.

    The old signature is removed, the SBOM (naming the new signer and the
    statement) embedded, then the image signed; a store version's digest is
    re-recorded under its lock (:func:`..signing.image.sign_image`), so
    ``verify`` never reports the embedding as tampering.
    """
    from scitex_container.apptainer.lock.provenance import KNOWN_OBJECTS, replace_objects
    from scitex_container.apptainer.signing.keys import fingerprint_of, load_private_key
    from scitex_container.apptainer.signing.sign_path import sign_image

    signer = fingerprint_of(load_private_key(key).public_key())
    texts: list[str] = []

    def embed(sif: Path, statement_sha256: str) -> None:
        claim = {"signed": True, "signer": signer, "statement_sha256": statement_sha256}
        texts.append(render_sbom(lock, subject=subject, signature=claim))
        new = {SBOM_OBJECT: (texts[-1].encode(), KNOWN_OBJECTS[SBOM_OBJECT])}
        replace_objects(sif, new, signing=True)

    done = sign_image(source, key, before=embed, reason=f"sbom embedded, signed by {signer}")
    return {"text": texts[-1], "signer": done.signer, "recorded": done.recorded}


def export_sbom(
    source: str | os.PathLike,
    output: str | os.PathLike | None = None,
    *,
    embed: bool = False,
    key: str | os.PathLike | None = None,
) -> dict[str, Any]:
    """Write (and/or embed) the SBOM of a lock file or an image.

    Embedding into a signed SIF needs ``key``: the image is re-signed after
    embedding (without it, :class:`SignedImageError`, exit 2: the new object
    would break the signature).  Returns ``{"path": output or None,
    "embedded": bool, "components": n, "serial_number": ..., "text": the
    JSON}`` (plus ``signer`` and ``recorded`` when re-signed).
    """
    from scitex_container.apptainer.signing.claim import signature_claim

    if key is not None and not embed:
        raise BadInputError("--key re-signs the image after --embed; add --embed", "--key")
    lock, subject = lock_of(source)
    extra: dict[str, Any] = {}
    if embed:
        from scitex_container.apptainer.sif.header import is_sif

        if not is_sif(source):
            raise BadInputError("--embed needs a SIF image", str(source))
    if embed and key is not None:
        extra = _embed_and_resign(source, lock, subject, key)
        text = extra.pop("text")
    else:
        text = render_sbom(lock, subject=subject, signature=signature_claim(source))
        if embed:
            from scitex_container.apptainer.lock.provenance import KNOWN_OBJECTS, replace_objects
            from scitex_container.apptainer.signing.rewrite import rewrite_sif
            from scitex_container.files.ownership import follow_trusted

            # on a copy, the version's digest re-recorded, then renamed in (one path with sign)
            data = {SBOM_OBJECT: (text.encode(), KNOWN_OBJECTS[SBOM_OBJECT])}
            done = rewrite_sif(
                follow_trusted(Path(source)),
                lambda copy: replace_objects(copy, data),
                lambda _value, _previous: ("sbom embedded", {}),
            )
            extra = {"recorded": done.recorded}
    if output is not None and not runner.is_dry_run():
        atomic_write_text(output, text)
    doc = json.loads(text)
    return {
        "path": str(output) if output is not None else None,
        "embedded": embed,  # in a dry run: what the real run would do
        "components": len(doc.get("components", [])),
        "serial_number": doc.get("serialNumber"),
        "text": text,
        **extra,
    }
