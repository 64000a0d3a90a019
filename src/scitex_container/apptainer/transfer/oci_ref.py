"""``oras://REGISTRY/NAME[:TAG][@sha256:HEX]``: one registry reference, parsed and checked.

The grammar is the distribution spec's: a registry host (with an optional
port), a repository path of lower-case components separated by ``/``, and a
tag and/or a digest.  A reference with neither gets the tag ``latest``.

Transport: a registry on a loopback address (``localhost``, ``127.0.0.0/8``,
``::1``) is spoken to over plain http, as docker and apptainer treat it;
every other one over https unless the caller asks for plain http.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from scitex_container.errors import BadInputError
from scitex_container.result import Result

SCHEME = "oras://"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_HOST = re.compile(
    r"^(?:\[[0-9A-Fa-f:]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::\d{1,5})?$"
)


@dataclass(frozen=True)
class OciRef(Result):
    """A parsed ``oras://`` reference."""

    registry: str  #: host[:port]
    repository: str
    tag: str | None = None
    digest: str | None = None  #: ``sha256:<hex>`` when pinned

    def __str__(self) -> str:
        out = f"{SCHEME}{self.registry}/{self.repository}"
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out

    @property
    def host(self) -> str:
        host = self.registry
        if host.startswith("["):
            return host[1 : host.index("]")]
        return host.rsplit(":", 1)[0] if ":" in host else host

    @property
    def reference(self) -> str:
        """What the manifest endpoint takes: the digest if pinned, else the tag."""
        return self.digest or self.tag or "latest"

    def at(self, digest: str) -> OciRef:
        """The same repository pinned to ``digest`` (no tag)."""
        return OciRef(self.registry, self.repository, None, digest)

    def with_tag(self, tag: str) -> OciRef:
        return OciRef(self.registry, self.repository, tag, None)

    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    def plain_http(self, asked: bool = False) -> bool:
        """Speak http (not https) to this registry: when asked, or when it is on loopback."""
        return asked or self.is_loopback()

    def to_dict(self) -> dict:
        return {**super().to_dict(), "reference": str(self)}


def parse_ref(text: str, where: str = "REFERENCE") -> OciRef:
    """Parse ``text``; :class:`BadInputError` naming ``where`` and what is wrong."""
    if not isinstance(text, str) or not text.startswith(SCHEME):
        raise BadInputError(f"not an oras:// reference: {text!r}", where)
    rest = text[len(SCHEME) :]
    if any(c.isspace() or ord(c) < 32 for c in rest):
        raise BadInputError(f"whitespace or a control character in {text!r}", where)
    digest = None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
        if not _DIGEST.match(digest):
            raise BadInputError(f"digest must be sha256:<64 hex digits>, got {digest!r}", where)
    registry, _, path = rest.partition("/")
    if not registry or not _HOST.match(registry):
        raise BadInputError(f"no registry host in {text!r}", where)
    tag = None
    last = path.rsplit("/", 1)[-1]
    if ":" in last:
        path, tag = path.rsplit(":", 1)
        if not _TAG.match(tag):
            raise BadInputError(f"invalid tag {tag!r} in {text!r}", where)
    if not _REPOSITORY.match(path):
        raise BadInputError(
            f"invalid repository {path!r} in {text!r} (lower-case components separated by /)",
            where,
        )
    if tag is None and digest is None:
        tag = "latest"
    return OciRef(registry, path, tag, digest)
