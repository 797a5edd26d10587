"""Resources a flow needs, created through the API (no source has to answer)."""

from __future__ import annotations

import time
from typing import Any

from service_harness import ApiClient, sql_server_connection_body

from flowservice.settings import CATALOG_PREFIX

FLOW_SPEC_ID = "14518937-270c-4525-bdec-c2ba7cce3860"
SQLSERVER_SPEC_ID = "1f372ff9-38a4-4492-96f5-b9a4e4bd00ec"
DATA_LAKE_SPEC_ID = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
# a closed loopback port: a run of such a flow fails fast as a source failure
UNREACHABLE = (
    "Data Source=127.0.0.1,1;Initial Catalog=sales;Integrated Security=False;"
    "User ID=loader;Password=S3cret!pw;Encrypt=False;"
)


def _id(response: Any) -> str:
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def connections(api: ApiClient) -> tuple[str, str, str, str]:
    """(base connection, source connection, target connection, dataset) ids."""
    base = _id(api.post("/connections", json=sql_server_connection_body(UNREACHABLE)))
    made = api.request("POST", "/dataSets", prefix=CATALOG_PREFIX, json={"name": "orders"})
    assert made.status_code == 201, made.text
    dataset = str(made.json()[0]).removeprefix("@/dataSets/")
    source = _id(
        api.post(
            "/sourceConnections",
            json={
                "name": "orders source",
                "baseConnectionId": base,
                "data": {"format": "tabular"},
                "params": {"tableName": "sales.Orders"},
                "connectionSpec": {"id": SQLSERVER_SPEC_ID, "version": "1.0"},
            },
        )
    )
    target = _id(
        api.post(
            "/targetConnections",
            json={
                "name": "orders target",
                "data": {"format": "parquet_xdm"},
                "params": {"dataSetId": dataset},
                "connectionSpec": {"id": DATA_LAKE_SPEC_ID, "version": "1.0"},
            },
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
    return _id(api.post("/flows", json=flow_body(source, target, **changes)))
