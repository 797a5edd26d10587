"""/targetConnections: create, list, get, patch, delete."""

from flowservice.api.routes.flow_connections import connection_router
from flowservice.api.schemas.target_connections import TargetConnectionCreate
from flowservice.api.services import target_connections

router = connection_router(
    target_connections, noun="target connection", create_model=TargetConnectionCreate
)
