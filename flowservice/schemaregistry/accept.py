"""The Schema Registry's ``Accept`` header: which view, and which version.

``application/vnd.adobe.xed[-full|-notext|-full-notext|-full-desc|-id]+json[; version=V]``
(``xdm`` for descriptors). ``version=1`` means the latest revision of major
version 1 (every revision here is 1.x); ``version=1.K`` the stored revision
``1.K``. An Accept that names no ``application/vnd.adobe.*`` type (none,
``*/*``, ``application/json``) reads as ``xed+json`` (``xed-id+json`` for lists).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flowservice.errors import InvalidRequest

_MEDIA = re.compile(
    r"^application/vnd\.adobe\.(xed|xdm)(?:-(full-notext|full-desc|full|notext|id|link|v2-id|v2-link|v2))?\+json$"
)
_VERSION = re.compile(r"^\d{1,6}(?:\.\d{1,9})?$")


@dataclass(frozen=True)
class AcceptView:
    family: str  # "xed" or "xdm"
    variant: str  # "", "full", "notext", "full-notext", "full-desc", "id", "link"
    version: str | None

    @property
    def full(self) -> bool:
        return self.variant.startswith("full")

    @property
    def ids_only(self) -> bool:
        return self.variant in ("id", "v2-id")

    @property
    def links(self) -> bool:
        return self.variant in ("link", "v2-link")

    @property
    def no_titles(self) -> bool:
        return self.variant in ("notext", "full-notext", "full-desc")

    @property
    def no_descriptions(self) -> bool:
        return self.variant in ("notext", "full-notext")


def parse_accept(header: str | None, *, listing: bool = False) -> AcceptView:
    """The view asked for; ``InvalidRequest`` (400) for a media type we do not serve."""
    text = (header or "").strip()
    media, *params = [part.strip() for part in text.split(";")]
    if not media.lower().startswith("application/vnd.adobe."):
        # content negotiation, not a registry view: anything else reads as the default
        return AcceptView("xed", "id" if listing else "", None)
    match = _MEDIA.match(media.lower())
    if match is None:
        raise InvalidRequest(
            "The supplied Accept header is not valid: a valid Accept value looks like "
            "application/vnd.adobe.xed+json; version=1",
            code=1006 if listing else 1007,
        )
    version = None
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "version":
            version = value.strip().strip('"')
            if not _VERSION.match(version):
                raise InvalidRequest(
                    "The Accept header's version must look like 1 or 1.2.", code=1007
                )
    return AcceptView(match.group(1), match.group(2) or "", version)
