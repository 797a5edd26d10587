"""/sourceConnections: documented request, validation, filters, PATCH/etag, delete, isolation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from openapi_contract import check_contract
from service_harness import (
    SQLSERVER_SPEC_ID,
    ApiClient,
    add_dev_sandbox,
    assert_hidden_from_outsiders,
    delete_row,
    problem_code,
    scope_of,
    sql_server_connection_body,
)

from flowservice.api.runtime import Runtime
from flowservice.store.repos import resources
from mssql_emulator.testing import RunningEmulator, running_emulator

COLUMNS = [
    {"name": "TestID", "type": "string", "xdm": {"type": "string"}},
    {"name": "Datefield", "type": "string", "meta": {"originalType": "datetime2"}},
]


def base(api: ApiClient) -> str:
    response = api.post("/connections", json=sql_server_connection_body())
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def body(base_id: str, **changes: Any) -> dict[str, Any]:
    """The documented create-source-connection body."""
    doc: dict[str, Any] = {
        "name": "Database source connection",
        "baseConnectionId": base_id,
        "description": "Database source connection",
        "data": {"format": "tabular"},
        "params": {"tableName": "test1.Mytable", "columns": COLUMNS},
        "connectionSpec": {"id": SQLSERVER_SPEC_ID, "version": "1.0"},
    }
    doc.update(changes)
    return doc


def count(api: ApiClient) -> int:
    return int(api.get("/sourceConnections", params={"count": "true"}).json()["count"])


def test_documented_request_creates_the_documented_shape(api: ApiClient) -> None:
    base_id = base(api)
    response = api.post("/sourceConnections", json=body(base_id))
    assert response.status_code == 201, response.text
    created = response.json()
    assert set(created) == {"id", "etag"} and created["etag"].startswith('"')
    assert response.headers["location"].endswith(f"/sourceConnections/{created['id']}")
    (item,) = api.get(f"/sourceConnections/{created['id']}").json()["items"]
    assert item["id"] == created["id"] and item["etag"] == item["version"] == created["etag"]
    assert item["name"] == "Database source connection"
    assert item["baseConnectionId"] == base_id and item["state"] == "enabled"
    assert item["data"] == {"format": "tabular"}
    assert item["params"] == {"tableName": "test1.Mytable", "columns": COLUMNS}
    assert item["connectionSpec"] == {"id": SQLSERVER_SPEC_ID, "version": "1.0"}
    assert item["providerRefId"] == "0ed90a81-07f4-4586-8190-b40eccef1c5a"
    assert item["inheritedAttributes"] == {
        "baseConnection": {
            "id": base_id,
            "connectionSpec": {"id": SQLSERVER_SPEC_ID, "version": "1.0"},
        }
    }
    assert item["imsOrgId"] == api.org_id and item["sandboxName"] == "prod"
    assert item["createdBy"] == api.subject and item["createdClient"] == api.client_id
    assert "S3cret" not in api.get("/sourceConnections").text


def test_older_path_param_and_default_columns(api: ApiClient) -> None:
    base_id = base(api)
    made = api.post("/sourceConnections", json=body(base_id, params={"path": "dbo.Orders"}))
    assert made.status_code == 201, made.text
    (item,) = api.get(f"/sourceConnections/{made.json()['id']}").json()["items"]
    assert item["params"] == {"tableName": "dbo.Orders"}


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"params": {}}, "tableName"),
        ({"params": {"tableName": 5}}, "tableName"),
        ({"params": {"tableName": "  "}}, "tableName"),
        ({"params": {"tableName": "t", "columns": [{"name": "a"}]}}, "columns"),
        (
            {"params": {"tableName": "t", "columns": [{"name": "a", "type": "string"}] * 2}},
            "repeat",
        ),
        ({"params": {"tableName": "a", "path": "b"}}, "disagree"),
        ({"data": {"format": "parquet_xdm"}}, "tabular"),
        ({"baseConnectionId": "00000000-0000-0000-0000-000000000000"}, "baseConnectionId"),
        ({"connectionSpec": {"id": "c604ff05-7f1a-43c0-8e18-33bf874cb11c"}}, "not a source"),
        ({"connectionSpec": {"id": "nope"}}, "not found"),
        ({"connectionSpec": {"id": SQLSERVER_SPEC_ID, "version": "2.0"}}, "version"),
        ({"name": ""}, "name"),
        ({"extra": 1}, "extra"),
    ],
)
def test_invalid_requests_are_400_and_store_nothing(
    api: ApiClient, change: dict[str, Any], needle: str
) -> None:
    response = api.post("/sourceConnections", json=body(base(api), **change))
    assert response.status_code == 400, response.text
    assert needle.lower() in response.json()["report"]["detailed-message"].lower()
    assert count(api) == 0


def test_base_connection_of_another_sandbox_is_refused(api: ApiClient) -> None:
    add_dev_sandbox(api)
    dev_base = base(api.as_other(sandbox="dev"))
    response = api.post("/sourceConnections", json=body(dev_base))
    assert response.status_code == 400 and "baseConnectionId" in response.text
    assert count(api) == 0


def test_filters(api: ApiClient) -> None:
    base_a, base_b = base(api), base(api)
    first = api.post("/sourceConnections", json=body(base_a)).json()["id"]
    second = api.post(
        "/sourceConnections",
        json=body(base_b, params={"tableName": "dbo.Other", "columns": [COLUMNS[1]]}),
    ).json()["id"]

    def ids(*conditions: str) -> list[str]:
        response = api.get("/sourceConnections", params={"property": list(conditions)})
        assert response.status_code == 200, response.text
        return [i["id"] for i in response.json()["items"]]

    assert ids(f"baseConnectionId=={base_b}") == [second]
    assert ids("params.tableName==test1.Mytable") == [first]
    assert ids("params.columns[].name==TestID") == [first]
    assert ids("params.columns[].name==Datefield") == [first, second]
    assert ids(f"connectionSpec.id=={SQLSERVER_SPEC_ID}", f"id=={second}") == [second]
    bad = api.get("/sourceConnections", params={"property": "auth.params==x"})
    assert problem_code(bad) == "FLOW-1448-400"


def test_patch_with_etag(api: ApiClient) -> None:
    made = api.post("/sourceConnections", json=body(base(api))).json()
    path = f"/sourceConnections/{made['id']}"
    ok = api.patch(
        path,
        json=[
            {"op": "replace", "path": "/name", "value": "renamed"},
            {"op": "replace", "path": "/params/tableName", "value": "dbo.New"},
        ],
        headers={"If-Match": made["etag"]},
    )
    assert ok.status_code == 200, ok.text
    (item,) = api.get(path).json()["items"]
    assert item["name"] == "renamed" and item["params"]["tableName"] == "dbo.New"
    assert item["etag"] == ok.json()["etag"] != made["etag"]
    stale = api.patch(
        path,
        json=[{"op": "replace", "path": "/name", "value": "x"}],
        headers={"If-Match": made["etag"]},
    )
    assert problem_code(stale) == "FLOW-1404-412"
    no_etag = api.patch(path, json=[{"op": "replace", "path": "/name", "value": "x"}])
    assert problem_code(no_etag) == "FLOW-1403-400"
    etag = item["etag"]
    for ops, code in (
        ([{"op": "replace", "path": "/connectionSpec/id", "value": "x"}], "FLOW-1414-400"),
        ([{"op": "replace", "path": "/baseConnectionId", "value": base(api)}], "FLOW-1455-400"),
        ([{"op": "remove", "path": "/params/tableName"}], "FLOW-1455-400"),
        ([{"op": "move", "from": "/name", "path": "/description"}], "FLOW-1434-400"),
    ):
        refused = api.patch(path, json=ops, headers={"If-Match": etag})
        assert problem_code(refused) == code, refused.text
    assert api.get(path).json()["items"][0]["etag"] == etag


def test_delete_and_base_connection_guard(api: ApiClient, runtime: Runtime) -> None:
    base_id = base(api)
    made = api.post("/sourceConnections", json=body(base_id)).json()
    # the foundation still refuses to delete a base connection that sources use
    assert problem_code(api.delete(f"/connections/{base_id}")) == "FLOW-1418-400"
    with runtime.transaction() as session:
        flow = resources.insert_resource(
            session,
            scope=scope_of(runtime, api),
            kind="flows",
            doc={"sourceConnectionIds": [made["id"]]},
        )
        flow_id = flow.id
    refused = api.delete(f"/sourceConnections/{made['id']}")
    assert problem_code(refused) == "FLOW-1418-400" and flow_id in refused.text
    delete_row(runtime, api, kind="flows", resource_id=flow_id)
    deleted = api.delete(f"/sourceConnections/{made['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    assert problem_code(api.get(f"/sourceConnections/{made['id']}")) == "FLOW-1101-404"
    assert api.delete(f"/connections/{base_id}").status_code == 204


def test_every_route_is_isolated(api: ApiClient) -> None:
    made = api.post("/sourceConnections", json=body(base(api))).json()
    assert_hidden_from_outsiders(api, "/sourceConnections", made)
    path = f"/sourceConnections/{made['id']}"
    (item,) = api.get(path).json()["items"]
    assert item["etag"] == made["etag"] and item["name"] != "stolen"


def test_read_only_token_cannot_write(api: ApiClient) -> None:
    reader = api.as_other(scope="read")
    assert reader.post("/sourceConnections", json=body(base(api))).status_code == 403
    assert count(api) == 0


def test_responses_match_the_flow_service_contract(api: ApiClient) -> None:
    request = body(base(api))
    check_contract("flow-service.yaml", "CreateSourceConnectionRequest", request)
    made = api.post("/sourceConnections", json=request)
    check_contract("flow-service.yaml", "CreateSourceConnectionResponse", made.json())
    one = api.get(f"/sourceConnections/{made.json()['id']}").json()
    check_contract("flow-service.yaml", "SourceConnectionsListResponse", one)
    check_contract("flow-service.yaml", "SourceConnectionItemDTO", one["items"][0])
    check_contract(
        "flow-service.yaml", "SourceConnectionsListResponse", api.get("/sourceConnections").json()
    )


# --- params.cdcEnabled: change tracking is checked at the source ----------------

CDC_INIT = """
ALTER DATABASE testdb SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 2 DAYS, AUTO_CLEANUP = ON);
CREATE SCHEMA test1;
CREATE TABLE test1.Mytable (TestID INT PRIMARY KEY, Name NVARCHAR(50), Datefield DATETIME2);
ALTER TABLE test1.Mytable ENABLE CHANGE_TRACKING;
CREATE TABLE test1.Untracked (TestID INT PRIMARY KEY, Name NVARCHAR(50));
CREATE TABLE test1.Heap (TestID INT, Name NVARCHAR(50));
"""
PLAIN_INIT = "USE plain;\nCREATE TABLE dbo.Plain (TestID INT PRIMARY KEY);"
CDC_PASSWORD = "Cdc_S3cret_pw"


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    with running_emulator(
        password=CDC_PASSWORD, extra_databases=["plain"], init_sql=[CDC_INIT, PLAIN_INIT]
    ) as running:
        yield running


def emulator_base(api: ApiClient, emulator: RunningEmulator, database: str = "testdb") -> str:
    text = (
        f"Data Source={emulator.host},{emulator.port};Initial Catalog={database};"
        f"Integrated Security=False;User ID={emulator.user};Password={emulator.password};"
        "Encrypt=False;"
    )
    response = api.post("/connections", json=sql_server_connection_body(text))
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def cdc_params(table: str = "test1.Mytable", **extra: Any) -> dict[str, Any]:
    return {"tableName": table, "cdcEnabled": True, **extra}


def test_cdc_on_a_tracked_table_is_created(api: ApiClient, emulator: RunningEmulator) -> None:
    made = api.post(
        "/sourceConnections",
        json=body(emulator_base(api, emulator), params=cdc_params(columns=COLUMNS)),
    )
    assert made.status_code == 201, made.text
    (item,) = api.get(f"/sourceConnections/{made.json()['id']}").json()["items"]
    assert item["params"] == {"tableName": "test1.Mytable", "cdcEnabled": True, "columns": COLUMNS}


@pytest.mark.parametrize(
    ("params", "database", "message"),
    [
        (
            cdc_params("test1.Untracked"),
            "testdb",
            "params.cdcEnabled: Change tracking is off for table test1.Untracked. "
            "Run ALTER TABLE [test1].[Untracked] ENABLE CHANGE_TRACKING.",
        ),
        (
            cdc_params("test1.Heap"),
            "testdb",
            "params.cdcEnabled: test1.Heap has no primary key; change tracking needs one. Add "
            "a PRIMARY KEY constraint, then run ALTER TABLE [test1].[Heap] ENABLE CHANGE_TRACKING.",
        ),
        (
            cdc_params(columns=[{"name": "Name", "type": "string"}]),
            "testdb",
            "params.cdcEnabled: Reading the changes of test1.Mytable needs every primary-key "
            "column; the columns leave out TestID.",
        ),
        (
            cdc_params("dbo.Plain"),
            "plain",
            "params.cdcEnabled: Change tracking is off for database 'plain'. Run ALTER DATABASE "
            "[plain] SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 2 DAYS, AUTO_CLEANUP = ON), "
            "then ALTER TABLE [dbo].[Plain] ENABLE CHANGE_TRACKING.",
        ),
    ],
)
def test_cdc_where_changes_cannot_be_read_is_400_naming_the_fix(
    api: ApiClient,
    emulator: RunningEmulator,
    params: dict[str, Any],
    database: str,
    message: str,
) -> None:
    response = api.post(
        "/sourceConnections", json=body(emulator_base(api, emulator, database), params=params)
    )
    assert problem_code(response) == "FLOW-1455-400", response.text
    report = response.json()["report"]
    assert report["detailed-message"] == message
    assert report["type"] == "table" and report["id"] == params["tableName"]
    assert count(api) == 0


def test_cdc_on_an_unknown_table_is_400(api: ApiClient, emulator: RunningEmulator) -> None:
    response = api.post(
        "/sourceConnections",
        json=body(emulator_base(api, emulator), params=cdc_params("test1.Nope")),
    )
    assert problem_code(response) == "FLOW-1455-400"
    assert response.json()["report"]["detailed-message"].startswith(
        "params.tableName: The table or view 'test1.Nope' was not found."
    )
    assert count(api) == 0


@pytest.mark.parametrize("flag", ["true", 1, None])
def test_cdc_enabled_is_a_boolean(api: ApiClient, flag: Any) -> None:
    response = api.post(
        "/sourceConnections", json=body(base(api), params=cdc_params(cdcEnabled=flag))
    )
    assert problem_code(response) == "FLOW-1455-400"
    assert response.json()["report"]["detailed-message"].startswith("params.cdcEnabled: ")
    assert "boolean" in response.text
    # without change tracking the source is not asked: db.example.com is never reached
    off = api.post("/sourceConnections", json=body(base(api), params=cdc_params(cdcEnabled=False)))
    assert off.status_code == 201, off.text


def test_cdc_against_an_unreachable_source_reports_the_source(api: ApiClient) -> None:
    text = "Data Source=127.0.0.1,1;Initial Catalog=sales;User ID=loader;Password=S3cret!pw;"
    made = api.post("/connections", json=sql_server_connection_body(text))
    response = api.post("/sourceConnections", json=body(made.json()["id"], params=cdc_params()))
    assert problem_code(response) == "FLOW-1001-500", response.text
    assert "Nothing accepts connections at 127.0.0.1:1" in response.text
    assert "S3cret" not in response.text
    assert count(api) == 0


def test_patch_turning_cdc_on_is_checked(api: ApiClient, emulator: RunningEmulator) -> None:
    base_id = emulator_base(api, emulator)
    made = api.post(
        "/sourceConnections", json=body(base_id, params={"tableName": "test1.Untracked"})
    ).json()
    path = f"/sourceConnections/{made['id']}"
    turn_on = [{"op": "add", "path": "/params/cdcEnabled", "value": True}]
    refused = api.patch(path, json=turn_on, headers={"If-Match": made["etag"]})
    assert problem_code(refused) == "FLOW-1455-400"
    assert "ALTER TABLE [test1].[Untracked] ENABLE CHANGE_TRACKING" in refused.text
    assert api.get(path).json()["items"][0]["etag"] == made["etag"]

    to_tracked = [
        *turn_on,
        {"op": "replace", "path": "/params/tableName", "value": "test1.Mytable"},
    ]
    ok = api.patch(path, json=to_tracked, headers={"If-Match": made["etag"]})
    assert ok.status_code == 200, ok.text
    etag = ok.json()["etag"]
    # with cdcEnabled on, moving to a table that cannot be read is refused too
    back = [{"op": "replace", "path": "/params/tableName", "value": "test1.Heap"}]
    refused = api.patch(path, json=back, headers={"If-Match": etag})
    assert problem_code(refused) == "FLOW-1455-400" and "no primary key" in refused.text
    assert api.get(path).json()["items"][0]["params"]["tableName"] == "test1.Mytable"
    renamed = api.patch(
        path, json=[{"op": "replace", "path": "/name", "value": "cdc"}], headers={"If-Match": etag}
    )
    assert renamed.status_code == 200, renamed.text
