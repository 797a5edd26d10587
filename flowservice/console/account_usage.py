"""The dataflows that keep a base connection from being deleted, by name."""

from __future__ import annotations

from sqlalchemy.orm import Session

from flowservice.api.services.flow_usage import FLOW_KIND, flows_referencing
from flowservice.store.repos import resources
from flowservice.store.repos.resources import Scope

SOURCE_CONNECTION_KIND = "sourceConnections"


def flows_using_connection(session: Session, scope: Scope, connection_id: str) -> list[str]:
    """Names of the flows reading through source connections of ``connection_id``, sorted."""
    sources = resources.list_resources(
        session, scope=scope, kind=SOURCE_CONNECTION_KIND, parent_ids=[connection_id]
    )
    flow_ids = flows_referencing(
        session, scope, field="sourceConnectionIds", ids=[s.id for s in sources]
    )
    if not flow_ids:
        return []
    flows = resources.list_resources(session, scope=scope, kind=FLOW_KIND, ids=flow_ids)
    return sorted((flow.name or flow.id) for flow in flows)
