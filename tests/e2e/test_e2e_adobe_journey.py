"""Adobe's database-source tutorials replayed in order, bodies as the tutorials print them.

Only the host, the ids our server returned and the connection string (pointing at the
emulator) differ from the tutorials. Every answer is checked against Adobe's published
OpenAPI documents where they give a response schema.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import pytest
from flow_journey import connection_string, read_dataset, wait_for_run
from openapi_contract import check_contract
from service_harness import (
    DATA_LAKE_SPEC_ID,
    FLOW_SPEC_ID,
    SQLSERVER_SPEC_ID,
    ApiClient,
)

from flowservice.settings import CATALOG_PREFIX, CONVERSION_PREFIX
from mssql_emulator.testing import running_emulator

pytestmark = pytest.mark.timeout(120)

REGISTRY = "/data/foundation/schemaregistry"
EXPORT = "/data/foundation/export"
INIT = """
CREATE SCHEMA crm;
CREATE TABLE crm.contacts (id INT PRIMARY KEY, email NVARCHAR(100), first_name NVARCHAR(50),
  score DECIMAL(9,2), updated_at DATETIME2);
INSERT INTO crm.contacts VALUES
  (1, N'ann@example.com', N'Ann', 10.50, '2024-03-01 12:00:00'),
  (2, N'BOB@example.com', N'Bob', 20.25, '2024-03-01 12:30:00'),
  (3, NULL, N'Cé', NULL, '2024-03-02 08:15:00');
"""


@pytest.fixture
def api(client: ApiClient) -> ApiClient:
    """The shared e2e client, under the name these tests use."""
    return client


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _registry(api: ApiClient, method: str, path: str, **kwargs: Any) -> Any:
    return api.request(method, path, prefix=REGISTRY, **kwargs)


def _schema_and_dataset(api: ApiClient) -> tuple[str, str, str]:
    """The tutorial's target XDM schema (a record class with one tenant field group) and the
    dataset that references it: (tenant id, schema $id, dataset id)."""
    tenant = _ok(_registry(api, "GET", "/stats"))["tenantId"]
    field_group = _ok(
        _registry(
            api,
            "POST",
            "/tenant/fieldgroups",
            json={
                "type": "object",
                "title": "Contact details",
                "description": "What the CRM knows of a contact",
                "meta:intendedToExtend": ["https://ns.adobe.com/xdm/data/record"],
                "definitions": {
                    "contact": {
                        "properties": {
                            f"_{tenant}": {
                                "type": "object",
                                "properties": {
                                    "contactId": {"type": "integer"},
                                    "emailHash": {"type": "string"},
                                    "firstName": {"type": "string"},
                                    "score": {"type": "number"},
                                    "updated": {"type": "string", "format": "date-time"},
                                },
                            }
                        }
                    }
                },
                "allOf": [{"$ref": "#/definitions/contact"}],
            },
        ),
        201,
    )
    schema = _ok(
        _registry(
            api,
            "POST",
            "/tenant/schemas",
            json={
                "type": "object",
                "title": "CRM contacts",
                "description": "Target schema of the database tutorial",
                "allOf": [
                    {"$ref": "https://ns.adobe.com/xdm/data/record"},
                    {"$ref": field_group["$id"]},
                ],
            },
        ),
        201,
    )
    created = _ok(
        api.request(
            "POST",
            "/dataSets",
            prefix=CATALOG_PREFIX,
            json={
                "name": "CRM contacts",
                "schemaRef": {
                    "id": schema["$id"],
                    "contentType": "application/vnd.adobe.xed-full+json;version=1",
                },
            },
        ),
        201,
    )
    return tenant, schema["$id"], created[0].removeprefix("@/dataSets/")


def test_database_tutorials_replayed_as_documented(api: ApiClient, home: Path) -> None:
    with running_emulator(init_sql=[INIT]) as emulator:
        connection_body = {
            "name": "Microsoft SQL Server connection",
            "description": "A connection to a SQL Server database",
            "auth": {
                "specName": "Connection String Based Authentication",
                "params": {
                    "connectionString": connection_string(emulator.host, emulator.port, emulator)
                },
            },
            "connectionSpec": {"id": SQLSERVER_SPEC_ID, "version": "1.0"},
        }
        connection = _ok(api.post("/connections", json=connection_body), 201)
        check_contract("flow-service.yaml", "CreateConnectionResponse", connection)
        tables = _ok(api.get(f"/connections/{connection['id']}/explore?objectType=root"))
        check_contract("flow-service.yaml", "ExploreConnectionResponse", tables)
        assert "crm.contacts" in [t["path"] for t in tables]
        _ok(
            api.get(f"/connections/{connection['id']}/explore?objectType=table&object=crm.contacts")
        )

        tenant, schema_id, dataset_id = _schema_and_dataset(api)

        source = _ok(
            api.post(
                "/sourceConnections",
                json={
                    "name": "Database source connection",
                    "baseConnectionId": connection["id"],
                    "description": "Source connection for a database connector",
                    "data": {"format": "tabular"},
                    "params": {"tableName": "crm.contacts"},
                    "connectionSpec": {"id": SQLSERVER_SPEC_ID, "version": "1.0"},
                },
            ),
            201,
        )
        # the current tutorial's target connection body: no data.format
        target = _ok(
            api.post(
                "/targetConnections",
                json={
                    "name": "Database target connection",
                    "description": "Target connection for a database source",
                    "data": {
                        "schema": {
                            "id": schema_id,
                            "version": "application/vnd.adobe.xed-full+json;version=1",
                        }
                    },
                    "params": {"dataSetId": dataset_id},
                    "connectionSpec": {"id": DATA_LAKE_SPEC_ID, "version": "1.0"},
                },
            ),
            201,
        )
        mappings = [
            ("id", f"_{tenant}.contactId"),
            ("sha256(lower(email))", f"_{tenant}.emailHash"),
            ("first_name", f"_{tenant}.firstName"),
            ("score", f"_{tenant}.score"),
            ("updated_at", f"_{tenant}.updated"),
        ]
        mapping_set = _ok(
            api.request(
                "POST",
                "/mappingSets",
                prefix=CONVERSION_PREFIX,
                json={
                    "version": 0,
                    "xdmSchema": schema_id,
                    "xdmVersion": "1.0",
                    "id": None,
                    "mappings": [
                        {
                            "destinationXdmPath": destination,
                            "sourceAttribute": source_attribute,
                            "identity": False,
                            "version": 0,
                        }
                        for source_attribute, destination in mappings
                    ],
                },
            ),
            200,
        )
        spec = _ok(api.get("/flowSpecs?property=name==CRMToAEP"))["items"][0]
        assert spec["id"] == FLOW_SPEC_ID
        flow = _ok(
            api.post(
                "/flows",
                json={
                    "name": "Database dataflow",
                    "description": "Database dataflow",
                    "flowSpec": {"id": FLOW_SPEC_ID, "version": "1.0"},
                    "sourceConnectionIds": [source["id"]],
                    "targetConnectionIds": [target["id"]],
                    "transformations": [
                        {
                            "name": "Copy",
                            "params": {
                                "deltaColumn": {
                                    "name": "updated_at",
                                    "dateFormat": "YYYY-MM-DD",
                                    "timezone": "UTC",
                                }
                            },
                        },
                        {
                            "name": "Mapping",
                            "params": {"mappingId": mapping_set["id"], "mappingVersion": 0},
                        },
                    ],
                    "scheduleParams": {
                        "startTime": str(int(time.time()) + 86_400),
                        "frequency": "minute",
                        "interval": "15",
                    },
                },
            ),
            201,
        )
        check_contract("flow-service.yaml", "CreateFlowResponse", flow)
        check_contract("flow-service.yaml", "FlowSpecResponse", {"items": [spec]})
        check_contract("flow-service.yaml", "CreateSourceConnectionResponse", source)
        check_contract("flow-service.yaml", "CreateTargetConnectionResponse", target)
        listed_flow = _ok(api.get(f"/flows/{flow['id']}"))
        stored = listed_flow["items"][0]
        assert stored["lastOperation"]["operation"] == "create"

        # on-demand ingestion, as that tutorial sends it; the answer is the run
        run = _ok(
            api.post(
                "/runs",
                json={
                    "flowId": flow["id"],
                    "params": {
                        "startTime": int(time.time()),
                        "windowStartTime": 0,
                        "windowEndTime": int(time.time()) - 1,
                        "deltaColumn": {"name": "updated_at"},
                    },
                },
            ),
            201,
        )
        assert run["id"] and run["etag"] and run["items"][0]["flowId"] == flow["id"]
        check_contract("flow-service.yaml", "CreateFlowRunResponse", run)
        finished = wait_for_run(api, run["id"])
        # the monitoring tutorial lists a flow's runs
        runs = _ok(api.get(f"/runs?property=flowId=={flow['id']}"))
        check_contract("flow-service.yaml", "FlowRunsListResponse", runs)
        assert [r["id"] for r in runs["items"]] == [run["id"]]
        import json

        print(json.dumps(finished, indent=1)[:6000])
        assert finished["metrics"]["statusSummary"]["status"] == "success"

        rows = read_dataset(api, home, dataset_id).to_pylist()
        by_id = {row[f"_{tenant}"]["contactId"]: row[f"_{tenant}"] for row in rows}
        assert sorted(by_id) == [1, 2, 3]
        assert by_id[2]["emailHash"] == hashlib.sha256(b"bob@example.com").hexdigest()
        assert by_id[3]["emailHash"] is None
        assert by_id[1]["score"] == 10.5

        # the tutorial's PATCH carries no Content-Type
        patched = api.request(
            "PATCH",
            f"/flows/{flow['id']}",
            content=b'[{"op": "replace", "path": "/name", "value": "Renamed dataflow"}]',
            headers={"If-Match": stored["etag"], "Content-Type": None},
        )
        assert patched.status_code == 200, patched.text
        _ok(api.post(f"/flows/{flow['id']}/action?op=disable"))
        _ok(api.post(f"/flows/{flow['id']}/action?op=enable"))
        # the tutorials end by deleting the dataflow, then its connections
        assert api.delete(f"/flows/{flow['id']}").status_code == 204
        assert api.delete(f"/sourceConnections/{source['id']}").status_code == 204
        assert api.delete(f"/targetConnections/{target['id']}").status_code == 204
        assert api.delete(f"/connections/{connection['id']}").status_code == 204
