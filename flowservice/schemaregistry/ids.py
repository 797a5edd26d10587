"""Tenant ids and the two spellings of a resource id (``$id`` URI and ``meta:altId``).

The tenant id is derived from the org id, stable and lower case: the org id
without its ``@AdobeOrg`` suffix, lower-cased, keeping only ``[a-z0-9]``
(``"tenant"`` if nothing is left). Its namespace, the object custom fields
live under, is ``_`` + tenant id. Tenant resources are
``https://ns.adobe.com/{tenant}/{kind}/{hex}`` with alt id ``_{tenant}.{kind}.{hex}``.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from urllib.parse import unquote

NS = "https://ns.adobe.com/"
TENANT_KINDS = ("schemas", "fieldgroups", "mixins", "datatypes", "classes")
_HEX = re.compile(r"^[0-9a-f]{32}$")


def tenant_id_of(org_id: str) -> str:
    """The org's tenant id (see the module docstring)."""
    base = org_id.strip().lower().removesuffix("@adobeorg")
    return re.sub(r"[^a-z0-9]", "", base) or "tenant"


def tenant_namespace(tenant: str) -> str:
    return f"_{tenant}"


def new_hex() -> str:
    return uuid.uuid4().hex


def uri_of(tenant: str, kind: str, hex_id: str) -> str:
    return f"{NS}{tenant}/{kind}/{hex_id}"


def alt_id_of_uri(uri: str) -> str:
    """``https://ns.adobe.com/a/b/c`` → ``_a.b.c`` (Adobe's dot notation)."""
    return "_" + uri.removeprefix(NS).replace("/", ".")


@dataclass(frozen=True)
class TenantRef:
    """A tenant resource named in a path or a ``$ref``."""

    kind: str
    hex_id: str


def parse_tenant_ref(text: str, tenant: str) -> TenantRef | None:
    """The tenant resource ``text`` names (URI, URL-encoded URI or alt id), or None."""
    value = unquote(text.strip())
    if value.startswith(NS):
        parts = value.removeprefix(NS).split("/")
    elif value.startswith("_"):
        parts = value[1:].split(".")
    else:
        return None
    if len(parts) != 3 or parts[0] != tenant or parts[1] not in TENANT_KINDS:
        return None
    kind = "fieldgroups" if parts[1] == "mixins" else parts[1]
    if not _HEX.match(parts[2]):
        return None
    return TenantRef(kind, parts[2])


def global_uri(text: str) -> str:
    """A global resource's ``$id`` from its URI (maybe URL-encoded) or alt id."""
    value = unquote(text.strip())
    if value.startswith("_") and "/" not in value:
        return NS + value[1:].replace(".", "/")
    return value
