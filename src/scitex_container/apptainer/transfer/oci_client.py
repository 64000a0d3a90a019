"""The few calls of the OCI distribution API we make beside ``apptainer push``/``pull``.

Manifests (get, head, put), small blobs (get, put) and one streamed
download of one repository, over ``urllib`` with a timeout on every read.
``apptainer push`` sends the SIF; this client reads the SIF's manifest (for
its digest), moves the proof artifact (lock, statement, SBOM: kilobytes)
and downloads the SIF on pull, hashing it as it is written (one pass, as
apptainer's pull makes, with no cache copy beside it).  Why not a library: the OCI
clients on PyPI retry a refused connection for minutes with growing sleeps
and write through files only; an unreachable registry here is one line,
exit 1, at once.  Only anonymous access is supported (a registry that asks
for credentials is refused with what it asked).

Every body read is checked against its digest; a manifest fetched by digest
must hash to that digest (a registry cannot substitute another).
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scitex_container.apptainer.transfer.oci_ref import OciRef
from scitex_container.errors import ScitexError, TransferError
from scitex_container.files.pathinfo import from_oserror

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
ACCEPT = ", ".join(
    (OCI_MANIFEST, OCI_INDEX, "application/vnd.docker.distribution.manifest.v2+json")
)
#: The largest manifest or proof blob read into memory.
MAX_SMALL = 64 << 20
TIMEOUT = 30.0
_CHUNK = 1 << 20


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Manifest:
    body: bytes
    digest: str
    media_type: str

    def json(self) -> dict[str, Any]:
        try:
            value = json.loads(self.body)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            raise TransferError(f"manifest {self.digest} is not a JSON object")
        return value


class _NoDowngrade(urllib.request.HTTPRedirectHandler):
    """Redirects never go from https to http, and plain http never leaves its host."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        old, new = urllib.parse.urlsplit(req.full_url), urllib.parse.urlsplit(newurl)
        if new.scheme != "https" and (old.scheme == "https" or new.netloc != old.netloc):
            raise TransferError(
                f"refused a redirect from {old.scheme}://{old.netloc} to {newurl} "
                "(plain http is only spoken to the registry itself)",
                {"check": "redirect", "location": newurl},
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_NoDowngrade())


class OciClient:
    """One repository of one registry."""

    def __init__(self, ref: OciRef, plain_http: bool = False, timeout: float = TIMEOUT) -> None:
        self.ref = ref
        self.base = f"{'http' if ref.plain_http(plain_http) else 'https'}://{ref.registry}"
        self.timeout = timeout

    def _open(self, req: urllib.request.Request) -> Any:
        try:
            return _OPENER.open(req, timeout=self.timeout)
        except TransferError as exc:
            details = {"reference": str(self.ref), **exc.details}
            raise TransferError(f"{self.ref}: {exc}", details) from None

    # -- transport ---------------------------------------------------------------
    def _url(self, path: str) -> str:
        return f"{self.base}/v2/{self.ref.repository}/{path}"

    def _fail(self, what: str, reason: str, **details: Any) -> TransferError:
        return TransferError(
            f"{self.ref}: {what}: {reason}", {"reference": str(self.ref), **details}
        )

    def _request(
        self,
        method: str,
        url: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        what: str,
        ok: tuple[int, ...] = (200,),
        missing_ok: bool = False,
    ) -> tuple[int, dict[str, str], bytes]:
        req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
        try:
            with self._open(req) as resp:
                status, head = resp.status, {k.lower(): v for k, v in resp.headers.items()}
                data = resp.read(MAX_SMALL + 1) if method != "HEAD" else b""
        except urllib.error.HTTPError as exc:
            if exc.code == 404 and missing_ok:
                return 404, {}, b""
            raise self._fail(what, _http_reason(exc), status=exc.code) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise self._fail(what, f"registry unreachable ({reason})") from None
        if len(data) > MAX_SMALL:
            raise self._fail(what, f"response larger than {MAX_SMALL} bytes")
        if status not in ok:
            raise self._fail(what, f"unexpected HTTP {status}", status=status)
        return status, head, data

    # -- manifests -----------------------------------------------------------------
    def manifest(self, reference: str | None = None) -> Manifest:
        """The manifest at ``reference`` (a tag or a digest; default the ref's)."""
        reference = reference or self.ref.reference
        _, head, body = self._request(
            "GET",
            self._url(f"manifests/{reference}"),
            headers={"Accept": ACCEPT},
            what=f"manifest {reference}",
        )
        digest = sha256_digest(body)
        claimed = head.get("docker-content-digest")
        expected = reference if reference.startswith("sha256:") else claimed
        if expected and expected != digest:
            raise self._fail(
                f"manifest {reference}",
                f"digest mismatch: expected {expected}, got {digest}",
                expected=expected,
                found=digest,
            )
        media_type = head.get("content-type", "").split(";")[0].strip()
        return Manifest(body, digest, media_type)

    def manifest_digest(self, reference: str | None = None) -> str | None:
        """The digest the tag (or digest) resolves to now, or None when it does not exist."""
        reference = reference or self.ref.reference
        status, head, _ = self._request(
            "HEAD",
            self._url(f"manifests/{reference}"),
            headers={"Accept": ACCEPT},
            what=f"manifest {reference}",
            missing_ok=True,
        )
        if status == 404:
            return None
        digest = head.get("docker-content-digest")
        return digest or self.manifest(reference).digest

    def put_manifest(self, reference: str, body: bytes, media_type: str = OCI_MANIFEST) -> str:
        """Store ``body`` under ``reference`` (a tag); return its digest."""
        _, head, _ = self._request(
            "PUT",
            self._url(f"manifests/{reference}"),
            body=body,
            headers={"Content-Type": media_type},
            what=f"manifest {reference}",
            ok=(200, 201, 202),
        )
        digest = sha256_digest(body)
        claimed = head.get("docker-content-digest")
        if claimed and claimed != digest:
            raise self._fail(f"manifest {reference}", f"registry stored {claimed}, sent {digest}")
        return digest

    # -- blobs ---------------------------------------------------------------------
    def blob(self, digest: str, size: int | None = None) -> bytes:
        """A small blob, checked against ``digest`` (and ``size`` when given)."""
        if size is not None and size > MAX_SMALL:
            raise self._fail(f"blob {digest}", f"{size} bytes is larger than a proof file may be")
        _, _, data = self._request("GET", self._url(f"blobs/{digest}"), what=f"blob {digest}")
        found = sha256_digest(data)
        if found != digest or (size is not None and len(data) != size):
            raise self._fail(
                f"blob {digest}", f"content does not match (got {found}, {len(data)} bytes)"
            )
        return data

    def download_blob(self, digest: str, size: int, dest: Path) -> None:
        """Stream the blob ``digest`` into the new file ``dest``, hashing as it is written.

        One pass over the bytes (as apptainer's own pull makes); a short
        read, an extra byte or another digest is refused and ``dest`` is
        left for the caller's scratch to remove.
        """
        url = self._url(f"blobs/{digest}")
        what = f"blob {digest}"
        hasher, got = hashlib.sha256(), 0
        try:
            req = urllib.request.Request(url, method="GET")
            with self._open(req) as resp, _create(dest) as out:
                while chunk := resp.read(_CHUNK):
                    hasher.update(chunk)
                    with _local(dest):  # a full disk is ours to say, not the registry's
                        out.write(chunk)
                    got += len(chunk)
                    if got > size:
                        break
        except ScitexError:
            raise
        except urllib.error.HTTPError as exc:
            raise self._fail(what, _http_reason(exc), status=exc.code) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", None) or exc.__class__.__name__
            raise self._fail(what, f"transfer failed after {got} bytes ({reason})") from None
        found = "sha256:" + hasher.hexdigest()
        if got != size or found != digest:
            raise self._fail(
                what,
                f"got {got} bytes with {found[:23]}..., expected {size} bytes",
                expected=digest,
                found=found,
            )

    def put_blob(self, data: bytes, media_type: str) -> dict[str, Any]:
        """Upload ``data`` (monolithic) unless the registry has it; return its descriptor."""
        digest = sha256_digest(data)
        descriptor = {"mediaType": media_type, "digest": digest, "size": len(data)}
        status, _, _ = self._request(
            "HEAD", self._url(f"blobs/{digest}"), what=f"blob {digest}", missing_ok=True
        )
        if status == 200:
            return descriptor
        _, head, _ = self._request(
            "POST", self._url("blobs/uploads/"), body=b"", what="blob upload", ok=(202,)
        )
        location = head.get("location")
        if not location:
            raise self._fail("blob upload", "the registry gave no upload location")
        url = urllib.parse.urljoin(self.base + "/", location)
        if not url.startswith(self.base + "/") and not url.startswith("https://"):
            raise self._fail("blob upload", f"refused an upload location over plain http: {url}")
        sep = "&" if "?" in url else "?"
        self._request(
            "PUT",
            f"{url}{sep}digest={urllib.parse.quote(digest)}",
            body=data,
            headers={"Content-Type": "application/octet-stream"},
            what=f"blob {digest}",
            ok=(201, 202),
        )
        return descriptor


def _http_reason(exc: urllib.error.HTTPError) -> str:
    detail = ""
    try:
        errors = json.loads(exc.read(65536) or b"{}").get("errors") or []
        detail = "; ".join(str(e.get("message") or e.get("code")) for e in errors if e)
    except (ValueError, AttributeError, OSError):
        pass
    if exc.code in (401, 403):
        detail = detail or "the registry asks for credentials (only anonymous access is supported)"
    return f"HTTP {exc.code}" + (f" ({detail})" if detail else "")


def _create(path: Path) -> Any:
    """A new file of ours, unbuffered (a full disk shows at the write that meets it)."""
    with _local(path):
        return open(path, "xb", buffering=0)


@contextlib.contextmanager
def _local(path: Path) -> Iterator[None]:
    """Our own file's errors (a full disk, a refused directory) through the error contract."""
    try:
        yield
    except ScitexError:
        raise
    except OSError as exc:
        raise from_oserror(exc, path) from None
