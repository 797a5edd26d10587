"""/flowSpecs and /flows through the real app over SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from flow_fixtures import connections, create_flow, flow_body
from service_harness import FLOW_SPEC_ID, SQLSERVER_SPEC_ID, ApiClient, new_org_id, problem_code

from flowservice.settings import API_PREFIX, CATALOG_PREFIX


def test_flow_specs_list_and_get(api: ApiClient) -> None:
    listed = api.get("/flowSpecs", params={"property": "name==CRMToAEP"}).json()["items"]
    assert [spec["id"] for spec in listed] == [FLOW_SPEC_ID]
    spec = api.get(f"/flowSpecs/{FLOW_SPEC_ID}").json()["items"][0]
    assert SQLSERVER_SPEC_ID in spec["sourceConnectionSpecIds"]
    assert spec["scheduleSpec"]["spec"]["properties"]["frequency"]
    assert problem_code(api.get("/flowSpecs/nope")) == "FLOW-1101-404"


def test_create_get_and_list_flows(api: ApiClient) -> None:
    _base, source, target, _dataset = connections(api)
    response = api.post("/flows", json=flow_body(source, target))
    assert response.status_code == 201, response.text
    flow_id = response.json()["id"]
    assert response.headers["Location"] == f"{API_PREFIX}/flows/{flow_id}"
    flow = api.get(f"/flows/{flow_id}").json()["items"][0]
    assert flow["state"] == "enabled"
    assert flow["scheduleParams"]["interval"] == 15 and flow["scheduleParams"]["backfill"] is True
    assert flow["sourceConnectionIds"] == [source] and flow["targetConnectionIds"] == [target]
    inherited = flow["inheritedAttributes"]["sourceConnections"][0]
    assert inherited["connectionSpec"]["id"] == SQLSERVER_SPEC_ID
    assert inherited["baseConnection"]["id"] == _base
    assert flow["runs"] == f"{API_PREFIX}/runs?property=flowId=={flow_id}"
    assert "lastRunDetails" not in flow
    assert flow["etag"] == response.json()["etag"]

    other = create_flow(api, source, target, name="second")
    by_source = api.get("/flows", params={"property": f"sourceConnectionIds[]=={source}"})
    assert {f["id"] for f in by_source.json()["items"]} == {flow_id, other}
    api.post(f"/flows/{other}/action", params={"op": "disable"})
    enabled = api.get("/flows", params={"property": "state==enabled"}).json()["items"]
    assert [f["id"] for f in enabled] == [flow_id]
    assert api.get("/flows", params={"count": "true"}).json() == {"count": 2}


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"state": "enabled"}, "FLOW-1410-400"),
        (
            {"scheduleParams": {"startTime": "1700000000", "frequency": "minute", "interval": "5"}},
            "FLOW-1455-400",
        ),
        ({"sourceConnectionIds": ["missing"]}, "FLOW-1455-400"),
        (
            {"transformations": [{"name": "Mapping", "params": {"mappingId": "nope"}}]},
            "FLOW-1455-400",
        ),
        ({"flowSpec": {"id": "nope"}}, "FLOW-1455-400"),
        ({"name": "bad\x00name"}, "FLOW-1100-400"),  # refused for any body
    ],
)
def test_invalid_flows_are_refused(api: ApiClient, change: dict[str, Any], code: str) -> None:
    _base, source, target, _dataset = connections(api)
    response = api.post("/flows", json=flow_body(source, target, **change))
    assert problem_code(response) == code, response.text
    assert api.get("/flows", params={"count": "true"}).json() == {"count": 0}


def test_target_as_source_does_not_fit_the_spec(api: ApiClient) -> None:
    _base, source, target, _dataset = connections(api)
    response = api.post("/flows", json=flow_body(source, target, sourceConnectionIds=[target]))
    assert problem_code(response) == "FLOW-1455-400"


def test_patch_enable_disable_and_delete(api: ApiClient) -> None:
    base, source, target, dataset = connections(api)
    flow_id = create_flow(api, source, target)
    etag = api.get(f"/flows/{flow_id}").json()["items"][0]["etag"]
    ops = [
        {"op": "replace", "path": "/name", "value": "renamed"},
        {"op": "replace", "path": "/scheduleParams/interval", "value": "30"},
    ]
    patched = api.patch(f"/flows/{flow_id}", json=ops, headers={"If-Match": etag})
    assert patched.status_code == 200, patched.text
    flow = api.get(f"/flows/{flow_id}").json()["items"][0]
    assert (flow["name"], flow["scheduleParams"]["interval"]) == ("renamed", 30)
    stale = api.patch(f"/flows/{flow_id}", json=ops, headers={"If-Match": etag})
    assert problem_code(stale) == "FLOW-1404-412"
    fixed = [{"op": "replace", "path": "/sourceConnectionIds", "value": [target]}]
    refused = api.patch(f"/flows/{flow_id}", json=fixed, headers={"If-Match": flow["etag"]})
    assert problem_code(refused) == "FLOW-1455-400"
    too_fast = [{"op": "replace", "path": "/scheduleParams/interval", "value": 1}]
    refused = api.patch(f"/flows/{flow_id}", json=too_fast, headers={"If-Match": flow["etag"]})
    assert problem_code(refused) == "FLOW-1455-400"

    disabled = api.post(f"/flows/{flow_id}/action", params={"op": "disable"})
    assert disabled.status_code == 200
    assert api.get(f"/flows/{flow_id}").json()["items"][0]["state"] == "disabled"
    api.post(f"/flows/{flow_id}/action", params={"op": "enable"})
    assert api.get(f"/flows/{flow_id}").json()["items"][0]["state"] == "enabled"
    bad_op = api.post(f"/flows/{flow_id}/action", params={"op": "pause"})
    assert bad_op.status_code == 400

    # things the flow uses cannot be deleted while it exists
    assert problem_code(api.delete(f"/sourceConnections/{source}")) == "FLOW-1418-400"
    assert problem_code(api.delete(f"/targetConnections/{target}")).endswith("1418-400")
    in_use = api.request("DELETE", f"/dataSets/{dataset}", prefix=CATALOG_PREFIX)
    assert in_use.status_code >= 400
    assert api.delete(f"/flows/{flow_id}").status_code == 204
    assert problem_code(api.get(f"/flows/{flow_id}")) == "FLOW-1101-404"
    assert api.delete(f"/sourceConnections/{source}").status_code == 204
    assert base


def test_flows_are_isolated_by_org_and_sandbox(api: ApiClient) -> None:
    _base, source, target, _dataset = connections(api)
    flow_id = create_flow(api, source, target)
    outsiders = (
        api.as_other(org_id=new_org_id(), client_id=api.client_id + "-x"),
        api.as_other(sandbox="dev"),
    )
    for outsider in outsiders:
        # another org: the flow is not there; a sandbox of no one: the sandbox is not
        assert outsider.get(f"/flows/{flow_id}").status_code == 404
        assert flow_id not in outsider.get("/flows").text
        refused = outsider.post("/flows", json=flow_body(source, target))
        assert refused.status_code in (400, 404)
        assert problem_code(refused) in ("FLOW-1455-400", "FLOW-2100-404")
        outsider.close()


DECLARED = [
    {"name": "OrderID", "type": "integer", "xdm": {"type": "integer"}},
    {"name": "UpdatedAt", "type": "string", "meta": {"originalType": "datetime2"}},
]


def _declared_source(api: ApiClient, base: str, columns: list[dict[str, Any]] | None) -> str:
    params: dict[str, Any] = {"tableName": "sales.Orders"}
    if columns is not None:
        params["columns"] = columns
    made = api.post(
        "/sourceConnections",
        json={
            "name": "orders with columns",
            "baseConnectionId": base,
            "data": {"format": "tabular"},
            "params": params,
            "connectionSpec": {"id": SQLSERVER_SPEC_ID, "version": "1.0"},
        },
    )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def _delta(name: str) -> list[dict[str, Any]]:
    return [{"name": "Copy", "params": {"deltaColumn": {"name": name, "timezone": "UTC"}}}]


def test_the_delta_column_must_be_a_declared_source_column(api: ApiClient) -> None:
    base, _source, target, _dataset = connections(api)
    source = _declared_source(api, base, DECLARED)
    created = api.post("/flows", json=flow_body(source, target, transformations=_delta("Nope")))
    assert problem_code(created) == "FLOW-1455-400", created.text
    message = created.json()["errorMessage"]
    assert "'Nope'" in message and "OrderID, UpdatedAt" in message
    flow_id = create_flow(api, source, target)  # deltaColumn UpdatedAt: declared
    etag = api.get(f"/flows/{flow_id}").json()["items"][0]["etag"]

    path = "/transformations/0/params/deltaColumn/name"
    refused = api.patch(
        f"/flows/{flow_id}",
        json=[{"op": "replace", "path": path, "value": "Missing"}],
        headers={"If-Match": etag},
    )
    assert problem_code(refused) == "FLOW-1455-400", refused.text
    assert "'Missing'" in refused.json()["errorMessage"]
    whole = api.patch(
        f"/flows/{flow_id}",
        json=[{"op": "replace", "path": "/transformations", "value": _delta("Missing")}],
        headers={"If-Match": etag},
    )
    assert problem_code(whole) == "FLOW-1455-400", whole.text
    flow = api.get(f"/flows/{flow_id}").json()["items"][0]
    assert flow["etag"] == etag and flow["transformations"] == _delta("UpdatedAt")
    # SQL Server names are case-insensitive: the declared column in other letters is that column
    fine = api.patch(
        f"/flows/{flow_id}",
        json=[{"op": "replace", "path": path, "value": "orderid"}],
        headers={"If-Match": etag},
    )
    assert fine.status_code == 200, fine.text

    # a source that declares no columns copies all of them: any name may be the delta column
    open_source = _declared_source(api, base, None)
    assert (
        api.post(
            "/flows", json=flow_body(open_source, target, transformations=_delta("Anything"))
        ).status_code
        == 201
    )

    # the first on-demand run that names the flow's delta column is held to the same rule
    snapshot = create_flow(api, source, target, name="snapshot", transformations=[])
    named = api.post(
        "/runs",
        json={
            "flowId": snapshot,
            "params": {
                "windowStartTime": 1_700_000_000,
                "windowEndTime": 1_700_003_600,
                "deltaColumn": {"name": "Missing"},
            },
        },
    )
    assert problem_code(named) == "FLOW-1455-400", named.text
    assert "'Missing'" in named.json()["errorMessage"]
    assert api.get(f"/flows/{snapshot}").json()["items"][0]["transformations"] == []
