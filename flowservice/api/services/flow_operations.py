"""A flow's ``lastOperation``: its last create, update, enable or disable, and when.

Kept in the flow's stored document (``doc.lastOperation``); a flow that has
none was never changed since it was created. ``updated`` counts the
operations after the create, as the Flow schema of Adobe's OpenAPI text says.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy.orm import Session

from flowservice.store.db import now_ms
from flowservice.store.repos import resources
from flowservice.store.repos.resources import Scope
from flowservice.store.tables import Resource

Operation = Literal["update", "enable", "disable"]
DOC_KEY = "lastOperation"


def last_operation(row: Resource) -> dict[str, Any]:
    """``{operation, started, updated}`` of the flow (``create`` at its creation time if none)."""
    stored = row.doc.get(DOC_KEY)
    if isinstance(stored, dict):
        return dict(stored)
    return {"operation": "create", "started": row.created_at, "updated": 0}


def record_operation(
    session: Session, scope: Scope, row: Resource, operation: Operation
) -> Resource:
    """Store ``operation`` as the flow's last one (the caller's transaction)."""
    count = int(last_operation(row).get("updated") or 0) + 1
    doc = {**row.doc, DOC_KEY: {"operation": operation, "started": now_ms(), "updated": count}}
    return resources.replace_resource(
        session,
        scope=scope,
        row=row,
        expected_etag=None,
        doc=doc,
        name=row.name,
        state=row.state,
    )
