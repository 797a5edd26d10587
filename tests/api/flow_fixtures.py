"""Resources a flow needs, created through the API (no source has to answer)."""

from __future__ import annotations

import time
from typing import Any

from service_harness import (
    FLOW_SPEC_ID,
    ApiClient,
    create_dataset,
    created_id,
    source_connection_body,
    sql_server_connection_body,
    target_connection_body,
)

# a closed loopback port: a run of such a flow fails fast as a source failure
UNREACHABLE = (
    "Data Source=127.0.0.1,1;Initial Catalog=sales;Integrated Security=False;"
    "User ID=loader;Password=S3cret!pw;Encrypt=False;"
)


def connections(api: ApiClient) -> tuple[str, str, str, str]:
    """(base connection, source connection, target connection, dataset) ids."""
    base = created_id(api.post("/connections", json=sql_server_connection_body(UNREACHABLE)))
    dataset = create_dataset(api, "orders")
    source = created_id(
        api.post(
            "/sourceConnections",
            json=source_connection_body(name="orders source", base_id=base, table="sales.Orders"),
        )
    )
    target = created_id(
        api.post(
            "/targetConnections",
            json=target_connection_body(name="orders target", dataset_id=dataset),
        )
    )
    return base, source, target, dataset


def flow_body(source: str, target: str, **changes: Any) -> dict[str, Any]:
    """The documented create-flow body (numbers as strings, as the docs send them)."""
    body: dict[str, Any] = {
        "name": "Orders to the lake",
        "description": "hourly orders",
        "flowSpec": {"id": FLOW_SPEC_ID, "version": "1.0"},
        "sourceConnectionIds": [source],
        "targetConnectionIds": [target],
        "transformations": [
            {"name": "Copy", "params": {"deltaColumn": {"name": "UpdatedAt", "timezone": "UTC"}}}
        ],
        "scheduleParams": {
            "startTime": str(int(time.time()) + 86_400),
            "frequency": "minute",
            "interval": "15",
            "backfill": "true",
        },
    }
    body.update(changes)
    return body


def create_flow(api: ApiClient, source: str, target: str, **changes: Any) -> str:
    return created_id(api.post("/flows", json=flow_body(source, target, **changes)))
