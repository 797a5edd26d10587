"""Which dataflows use a resource, and the delete that refuses while they do."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.orm import Session

from flowservice.errors import Conflict
from flowservice.store.repos import resources
from flowservice.store.repos.resources import Scope
from flowservice.store.tables import Resource

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


def delete_unless_used(
    session: Session, scope: Scope, row: Resource, *, field: str, noun: str
) -> None:
    """Delete ``row`` unless flows list it in ``field`` (1418, naming up to five of them)."""
    flows = flows_referencing(session, scope, field=field, ids=[row.id])
    if flows:
        raise Conflict(
            f"The {noun} {row.id} is used by {len(flows)} dataflow(s) "
            f"({', '.join(flows[:5])}); delete those dataflows first.",
            code=1418,
            resource_type=row.kind,
            resource_id=row.id,
        )
    resources.delete_resource(session, row=row)
