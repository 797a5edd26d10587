"""Resources a flow needs, created through the SDK from the harness's documented bodies."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from service_harness import (
    FLOW_SPEC_ID,
    source_connection_body,
    sql_server_connection_body,
    target_connection_body,
)

from flowservice.client import Client

# a closed loopback port: nothing here ever connects to it
UNREACHABLE = (
    "Data Source=127.0.0.1,1;Initial Catalog=sales;Integrated Security=False;"
    "User ID=loader;Password=S3cret!pw;Encrypt=False;"
)


@dataclass(frozen=True)
class FlowParts:
    connection_id: str
    dataset_id: str
    source_id: str
    target_id: str
    flow_id: str


def make_flow(
    client: Client,
    *,
    connection_string: str = UNREACHABLE,
    table: str = "sales.Orders",
    delta_column: str | None = "UpdatedAt",
) -> FlowParts:
    """A base connection, dataset, source and target connections and a flow whose first
    scheduled run is a day away (so only on-demand runs happen)."""
    conn = client.connections.create(sql_server_connection_body(connection_string)).id
    dataset = client.datasets.create({"name": f"{table} copy"}).id
    source = client.source_connections.create(
        source_connection_body(name="source", base_id=conn, table=table)
    ).id
    target = client.target_connections.create(
        target_connection_body(name="target", dataset_id=dataset)
    ).id
    copy: dict[str, Any] = {"name": "Copy", "params": {}}
    if delta_column is not None:
        copy["params"]["deltaColumn"] = {"name": delta_column, "timezone": "UTC"}
    flow = client.flows.create(
        {
            "name": f"copy {table}",
            "flowSpec": {"id": FLOW_SPEC_ID, "version": "1.0"},
            "sourceConnectionIds": [source],
            "targetConnectionIds": [target],
            "transformations": [copy],
            "scheduleParams": {
                "startTime": str(int(time.time()) + 86_400),
                "frequency": "minute",
                "interval": "15",
            },
        }
    ).id
    return FlowParts(conn, dataset, source, target, flow)
