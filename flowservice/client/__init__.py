"""The Python SDK of flowservice: ``Client`` and its asyncio twin ``AsyncClient``.

    from flowservice.client import Client

    with Client(url, token=token, api_key=api_key, org=org) as client:
        for flow in client.flows.list(filters=["state==enabled"]):
            print(flow.id, flow.name)

See ``docs/sdk.md``. Errors are ``flowservice.client.errors.FlowServiceError``
and its branches, re-exported here.
"""

from flowservice.client.async_client import AsyncClient
from flowservice.client.errors import (
    BadRequest,
    Conflict,
    FlowServiceError,
    Forbidden,
    NotFound,
    PreconditionFailed,
    RateLimited,
    RunTimeout,
    ServerError,
    TransportError,
    Unauthorized,
)
from flowservice.client.models import (
    Batch,
    Connection,
    ConnectionSpec,
    Created,
    Dataset,
    DatasetFile,
    Explored,
    Flow,
    FlowSpec,
    MappingSet,
    Run,
    RunErrors,
    Sandbox,
    SourceConnection,
    TargetConnection,
)
from flowservice.client.retry import NO_RETRIES, RetryPolicy
from flowservice.client.sync import Client

__all__ = [
    "NO_RETRIES",
    "AsyncClient",
    "BadRequest",
    "Batch",
    "Client",
    "Conflict",
    "Connection",
    "ConnectionSpec",
    "Created",
    "Dataset",
    "DatasetFile",
    "Explored",
    "Flow",
    "FlowServiceError",
    "FlowSpec",
    "Forbidden",
    "MappingSet",
    "NotFound",
    "PreconditionFailed",
    "RateLimited",
    "RetryPolicy",
    "Run",
    "RunErrors",
    "RunTimeout",
    "Sandbox",
    "ServerError",
    "SourceConnection",
    "TargetConnection",
    "TransportError",
    "Unauthorized",
]
