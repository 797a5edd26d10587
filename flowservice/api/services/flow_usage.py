"""Which dataflows use a resource: the check behind refusing deletes of things in use."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.orm import Session

from flowservice.store.repos import resources
from flowservice.store.repos.resources import Scope

FLOW_KIND = "flows"


def flows_referencing(
    session: Session, scope: Scope, *, field: str, ids: Collection[str]
) -> list[str]:
    """Ids of the flows whose ``field`` (``sourceConnectionIds``, ...) lists any of ``ids``."""
    if not ids:
        return []
    wanted = set(ids)
    return [
        flow.id
        for flow in resources.list_resources(session, scope=scope, kind=FLOW_KIND)
        if wanted & set(flow.doc.get(field) or ())
    ]
