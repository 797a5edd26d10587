"""/targetConnections: Data Lake targets pointing at datasets of the same sandbox."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_contract import check_contract
from service_harness import (
    SQLSERVER_SPEC_ID,
    ApiClient,
    add_dev_sandbox,
    assert_hidden_from_outsiders,
    delete_row,
    new_org_id,
    problem_code,
    scope_of,
    sql_server_connection_body,
)

from flowservice.api.runtime import Runtime
from flowservice.settings import CATALOG_PREFIX
from flowservice.store.repos import resources

DATA_LAKE = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
SCHEMA = {
    "id": "https://ns.adobe.com/acme/schemas/52b5",
    "version": "application/vnd.adobe.xed-full+json;version=1",
}


def dataset(api: ApiClient, name: str = "orders") -> str:
    response = api.post(
        "/dataSets",
        prefix=CATALOG_PREFIX,
        json={"name": name, "fields": [{"name": "id", "type": "integer"}]},
    )
    assert response.status_code == 201, response.text
    return str(response.json()[0].removeprefix("@/dataSets/"))


def body(dataset_id: str, **changes: Any) -> dict[str, Any]:
    """The documented create-target-connection body."""
    doc: dict[str, Any] = {
        "name": "Database target connection",
        "data": {"format": "parquet_xdm", "schema": SCHEMA},
        "params": {"dataSetId": dataset_id},
        "connectionSpec": {"id": DATA_LAKE, "version": "1.0"},
    }
    doc.update(changes)
    return doc


def count(api: ApiClient) -> int:
    return int(api.get("/targetConnections", params={"count": "true"}).json()["count"])


def test_documented_request_creates_the_documented_shape(api: ApiClient) -> None:
    dataset_id = dataset(api)
    response = api.post("/targetConnections", json=body(dataset_id))
    assert response.status_code == 201, response.text
    made = response.json()
    assert set(made) == {"id", "etag"}
    assert response.headers["location"].endswith(f"/targetConnections/{made['id']}")
    (item,) = api.get(f"/targetConnections/{made['id']}").json()["items"]
    assert item["etag"] == item["version"] == made["etag"]
    assert item["name"] == "Database target connection" and item["state"] == "enabled"
    assert item["data"] == {"format": "parquet_xdm", "schema": SCHEMA}
    assert item["params"] == {"dataSetId": dataset_id}
    assert item["connectionSpec"] == {"id": DATA_LAKE, "version": "1.0"}
    assert item["inheritedAttributes"] == {}
    assert item["imsOrgId"] == api.org_id and item["sandboxName"] == "prod"
    # name is optional, as in the published request schema; data.schema too
    minimal = {"data": {"format": "parquet_xdm"}, "params": {"dataSetId": dataset_id}}
    minimal["connectionSpec"] = {"id": DATA_LAKE, "version": "1.0"}
    bare = api.post("/targetConnections", json=minimal)
    assert bare.status_code == 201, bare.text
    (shown,) = api.get(f"/targetConnections/{bare.json()['id']}").json()["items"]
    assert "name" not in shown and shown["data"] == {"format": "parquet_xdm"}


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"params": {"dataSetId": "0123456789abcdef01234567"}}, "not a dataset"),
        ({"params": {}}, "dataSetId"),
        ({"params": {"dataSetId": 7}}, "dataSetId"),
        ({"data": {"format": "tabular"}}, "parquet_xdm"),
        ({"data": {"format": "parquet_xdm", "schema": {"version": "1"}}}, "schema"),
        ({"connectionSpec": {"id": "1f372ff9-38a4-4492-96f5-b9a4e4bd00ec"}}, "not a target"),
        ({"baseConnectionId": "00000000-0000-0000-0000-000000000000"}, "baseConnectionId"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_requests_are_400_and_store_nothing(
    api: ApiClient, change: dict[str, Any], needle: str
) -> None:
    response = api.post("/targetConnections", json=body(dataset(api), **change))
    assert response.status_code == 400, response.text
    assert needle.lower() in response.json()["report"]["detailed-message"].lower()
    assert count(api) == 0


def test_dataset_of_another_sandbox_or_org_is_400(api: ApiClient) -> None:
    add_dev_sandbox(api)
    dev_dataset = dataset(api.as_other(sandbox="dev"))
    refused = api.post("/targetConnections", json=body(dev_dataset))
    assert refused.status_code == 400 and dev_dataset in refused.text
    other = api.as_other(org_id=new_org_id(), client_id=api.client_id + "-x")
    assert other.post("/targetConnections", json=body(dataset(api))).status_code == 400
    assert count(api) == 0


def test_filters_patch_and_delete(api: ApiClient, runtime: Runtime) -> None:
    first_ds, second_ds = dataset(api, "a"), dataset(api, "b")
    first = api.post("/targetConnections", json=body(first_ds)).json()
    second = api.post("/targetConnections", json=body(second_ds)).json()
    found = api.get("/targetConnections", params={"property": f"params.dataSetId=={second_ds}"})
    assert [i["id"] for i in found.json()["items"]] == [second["id"]]
    by_format = api.get("/targetConnections", params={"property": "data.format==parquet_xdm"})
    assert len(by_format.json()["items"]) == 2

    path = f"/targetConnections/{first['id']}"
    moved = api.patch(
        path,
        json=[{"op": "replace", "path": "/params/dataSetId", "value": second_ds}],
        headers={"If-Match": first["etag"]},
    )
    assert moved.status_code == 200, moved.text
    assert api.get(path).json()["items"][0]["params"]["dataSetId"] == second_ds
    etag = moved.json()["etag"]
    for ops, code in (
        ([{"op": "replace", "path": "/params/dataSetId", "value": "nope"}], "FLOW-1455-400"),
        ([{"op": "replace", "path": "/connectionSpec/id", "value": "x"}], "FLOW-1414-400"),
        ([{"op": "add", "path": "/baseConnectionId", "value": "x"}], "FLOW-1455-400"),
        ([{"op": "replace", "path": "/data/format", "value": "json"}], "FLOW-1455-400"),
    ):
        refused = api.patch(path, json=ops, headers={"If-Match": etag})
        assert problem_code(refused) == code, refused.text
    stale = api.patch(
        path,
        json=[{"op": "replace", "path": "/name", "value": "x"}],
        headers={"If-Match": first["etag"]},
    )
    assert problem_code(stale) == "FLOW-1404-412"

    with runtime.transaction() as session:
        flow = resources.insert_resource(
            session,
            scope=scope_of(runtime, api),
            kind="flows",
            doc={"targetConnectionIds": [first["id"]]},
        )
        flow_id = flow.id
    assert problem_code(api.delete(path)) == "FLOW-1418-400"
    # the dataset the flow writes into cannot be deleted either
    in_use = api.delete(f"/dataSets/{second_ds}", prefix=CATALOG_PREFIX)
    assert problem_code(in_use) == "FLOW-1418-400"
    delete_row(runtime, api, kind="flows", resource_id=flow_id)
    assert api.delete(path).status_code == 204
    assert problem_code(api.get(path)) == "FLOW-1101-404"


def test_every_route_is_isolated(api: ApiClient) -> None:
    made = api.post("/targetConnections", json=body(dataset(api))).json()
    assert_hidden_from_outsiders(api, "/targetConnections", made)
    path = f"/targetConnections/{made['id']}"
    assert api.get(path).json()["items"][0]["etag"] == made["etag"]


def test_responses_match_the_flow_service_contract(api: ApiClient) -> None:
    request = body(dataset(api))
    check_contract("flow-service.yaml", "CreateTargetConnectionRequest", request)
    made = api.post("/targetConnections", json=request)
    check_contract("flow-service.yaml", "CreateTargetConnectionResponse", made.json())
    one = api.get(f"/targetConnections/{made.json()['id']}").json()
    check_contract("flow-service.yaml", "TargetConnectionsListResponse", one)
    check_contract("flow-service.yaml", "TargetConnectionItemDTO", one["items"][0])
    check_contract(
        "flow-service.yaml", "TargetConnectionsListResponse", api.get("/targetConnections").json()
    )


def test_a_real_dataflow_guards_its_target_and_dataset(api: ApiClient) -> None:
    """Through POST /flows: the flow's target connection and dataset cannot be deleted."""
    dataset_id = dataset(api)
    target = api.post("/targetConnections", json=body(dataset_id)).json()["id"]
    base = api.post("/connections", json=sql_server_connection_body()).json()["id"]
    source = api.post(
        "/sourceConnections",
        json={
            "name": "src",
            "baseConnectionId": base,
            "data": {"format": "tabular"},
            "params": {"tableName": "dbo.Orders"},
            "connectionSpec": {"id": SQLSERVER_SPEC_ID, "version": "1.0"},
        },
    ).json()["id"]
    flow = api.post(
        "/flows",
        json={
            "name": "Database dataflow",
            "flowSpec": {"id": "14518937-270c-4525-bdec-c2ba7cce3860", "version": "1.0"},
            "sourceConnectionIds": [source],
            "targetConnectionIds": [target],
            "transformations": [
                {"name": "Copy", "params": {"deltaColumn": {"name": "Updated"}}},
            ],
            "scheduleParams": {"startTime": "1612310466", "frequency": "once"},
        },
    )
    assert flow.status_code == 201, flow.text
    assert problem_code(api.delete(f"/targetConnections/{target}")) == "FLOW-1418-400"
    assert problem_code(api.delete(f"/sourceConnections/{source}")) == "FLOW-1418-400"
    refused = api.delete(f"/dataSets/{dataset_id}", prefix=CATALOG_PREFIX)
    assert problem_code(refused) == "FLOW-1418-400" and flow.json()["id"] in refused.text
    assert api.delete(f"/flows/{flow.json()['id']}").status_code == 204
    assert api.delete(f"/targetConnections/{target}").status_code == 204
    assert api.delete(f"/dataSets/{dataset_id}", prefix=CATALOG_PREFIX).status_code == 200


def test_base_connection_of_another_spec_is_400(api: ApiClient) -> None:
    sql_server_base = api.post("/connections", json=sql_server_connection_body()).json()["id"]
    refused = api.post(
        "/targetConnections", json=body(dataset(api), baseConnectionId=sql_server_base)
    )
    assert refused.status_code == 400
    assert "uses connection spec" in refused.json()["report"]["detailed-message"]
    assert count(api) == 0
