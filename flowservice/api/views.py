"""Fields every resource shows on the wire: audit trail, scope, version."""

from __future__ import annotations

from typing import Any

from flowservice.api.patching import quote_etag
from flowservice.store.repos.resources import Scope
from flowservice.store.tables import Resource


def audit_fields(row: Resource, scope: Scope) -> dict[str, Any]:
    """id, epoch-ms times, who and which client, sandbox and org."""
    return {
        "id": row.id,
        "createdAt": row.created_at,
        "updatedAt": row.updated_at,
        "createdBy": row.created_by,
        "updatedBy": row.updated_by,
        "createdClient": row.created_client,
        "updatedClient": row.updated_client,
        "sandboxId": row.sandbox_id,
        "sandboxName": scope.sandbox_name,
        "imsOrgId": row.org_id,
    }


def named_fields(row: Resource, scope: Scope) -> dict[str, Any]:
    """``audit_fields`` then the name, and the description when there is one."""
    item = audit_fields(row, scope)
    item["name"] = row.name
    if row.doc.get("description") is not None:
        item["description"] = row.doc["description"]
    return item


# what every Flow Service kind can be filtered and ordered on, besides its own fields
AUDIT_FILTERABLE = frozenset(
    {"id", "createdAt", "updatedAt", "createdBy", "updatedBy", "createdClient", "updatedClient"}
)


def version_fields(row: Resource) -> dict[str, str]:
    etag = quote_etag(row.etag)
    return {"version": etag, "etag": etag}


def created(row: Resource) -> dict[str, str]:
    return {"id": row.id, "etag": quote_etag(row.etag)}
