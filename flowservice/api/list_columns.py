"""For each Flow Service list, the wire paths whose values are stored fields of the row.

A path listed here is filtered and ordered in SQL, so its wire value must be
exactly the stored one (``to_wire`` of the kind copies it). Paths inside the
JSON documents are not listed: they are checked on the wire items.
"""

from __future__ import annotations

from flowservice.api.list_plan import Column
from flowservice.store.repos import resource_lists as stored

AUDIT = {
    "id": Column(stored.ID),
    "createdAt": Column(stored.CREATED_AT),
    "updatedAt": Column(stored.UPDATED_AT),
    "createdBy": Column(stored.CREATED_BY),
    "updatedBy": Column(stored.UPDATED_BY),
    "createdClient": Column(stored.CREATED_CLIENT),
    "updatedClient": Column(stored.UPDATED_CLIENT),
}
_NAMED = AUDIT | {"name": Column(stored.NAME), "state": Column(stored.STATE)}

CONNECTIONS = _NAMED | {"connectionSpec.id": Column(stored.SPEC_ID)}
SOURCE_CONNECTIONS = CONNECTIONS | {"baseConnectionId": Column(stored.PARENT_ID)}
# a target connection shows name and baseConnectionId only when it has them
TARGET_CONNECTIONS = AUDIT | {
    "name": Column(stored.NAME, absent_when_null=True),
    "state": Column(stored.STATE),
    "connectionSpec.id": Column(stored.SPEC_ID),
    "baseConnectionId": Column(stored.PARENT_ID, absent_when_null=True),
}
FLOWS = _NAMED | {"flowSpec.id": Column(stored.SPEC_ID)}
# a run row's state is its status; created_at is the run's own creation time (migration 0004)
RUNS = {
    "id": Column(stored.ID),
    "flowId": Column(stored.PARENT_ID),
    "flowSpec.id": Column(stored.SPEC_ID),
    "state": Column(stored.STATE),
    "metrics.statusSummary.status": Column(stored.STATE),
    "createdAt": Column(stored.CREATED_AT),
    "updatedAt": Column(stored.RUN_UPDATED_AT),
}

FLOW_CONNECTIONS = {
    "sourceConnections": SOURCE_CONNECTIONS,
    "targetConnections": TARGET_CONNECTIONS,
}
