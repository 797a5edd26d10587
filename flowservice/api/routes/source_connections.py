"""/sourceConnections: create, list, get, patch, delete."""

from flowservice.api.routes.flow_connections import connection_router
from flowservice.api.schemas.source_connections import SourceConnectionCreate
from flowservice.api.services import source_connections

router = connection_router(
    source_connections,
    noun="source connection",
    create_model=SourceConnectionCreate,
    parent_field="baseConnectionId",
)
