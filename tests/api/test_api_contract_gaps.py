"""What a reader of Adobe's tutorials sends and expects: the contract gaps of issue 13."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
from flow_fixtures import connections, create_flow
from hypothesis import given
from hypothesis import strategies as st
from openapi_contract import check_contract
from service_harness import (
    ApiClient,
    create_dataset,
    problem_code,
    scope_of,
    sql_server_connection_body,
    target_connection_body,
)

from flowservice.api.runtime import Runtime
from flowservice.api.services.batches import record_batch
from flowservice.api.services.json_decimals import decimal_json
from flowservice.settings import CATALOG_PREFIX
from mssql_emulator.testing import RunningEmulator, running_emulator

# -- POST /targetConnections without data.format ------------------------------------------


def test_a_target_connection_without_data_format_gets_parquet_xdm(api: ApiClient) -> None:
    dataset_id = create_dataset(api, "tutorial target")
    body = target_connection_body(name="tutorial target", dataset_id=dataset_id)
    body["data"] = {
        "schema": {
            "id": "https://ns.adobe.com/acme/schemas/0123",
            "version": "application/vnd.adobe.xed-full+json;version=1",
        }
    }
    check_contract("flow-service.yaml", "CreateTargetConnectionRequest", body)
    made = api.post("/targetConnections", json=body)
    assert made.status_code == 201, made.text
    check_contract("flow-service.yaml", "CreateTargetConnectionResponse", made.json())
    listed = api.get(f"/targetConnections/{made.json()['id']}").json()
    check_contract("flow-service.yaml", "TargetConnectionsListResponse", listed)
    data = listed["items"][0]["data"]
    assert data["format"] == "parquet_xdm"
    assert data["schema"]["id"] == "https://ns.adobe.com/acme/schemas/0123"


def test_a_wrong_data_format_is_still_refused(api: ApiClient) -> None:
    dataset_id = create_dataset(api, "csv target")
    body = target_connection_body(name="csv target", dataset_id=dataset_id)
    body["data"] = {"format": "delimited"}
    assert problem_code(api.post("/targetConnections", json=body)) == "FLOW-1455-400"


# -- POST /runs answers the run --------------------------------------------------------------


def test_an_on_demand_run_is_answered_with_the_run_object(api: ApiClient) -> None:
    _base, source, target, _dataset = connections(api)
    flow_id = create_flow(api, source, target)
    now = int(time.time())
    params = {
        "startTime": str(now + 3600),  # stays scheduled while the test reads it
        "windowStartTime": str(now - 7200),
        "windowEndTime": str(now - 60),
    }
    made = api.post("/runs", json={"flowId": flow_id, "params": params})
    assert made.status_code == 201, made.text
    body = made.json()
    check_contract("flow-service.yaml", "CreateFlowRunResponse", body)
    (item,) = body["items"]
    check_contract("flow-service.yaml", "FlowRunItemDTO", item)
    assert item["id"] == body["id"] and item["etag"] == body["etag"]
    assert item["flowId"] == flow_id and item["params"] == params
    assert item["metrics"]["statusSummary"]["status"] == "scheduled"
    stored = api.get(f"/runs/{body['id']}").json()["items"][0]
    assert stored["etag"] == body["etag"] and stored["id"] == body["id"]
    assert made.headers["Location"].endswith(f"/runs/{body['id']}")


# -- lastOperation of flows ------------------------------------------------------------------


def _flow(api: ApiClient, flow_id: str) -> dict[str, Any]:
    listed = api.get(f"/flows/{flow_id}")
    assert listed.status_code == 200, listed.text
    item: dict[str, Any] = listed.json()["items"][0]
    return item


def _check_last_operation(flow: dict[str, Any]) -> None:
    # the whole flow item differs from the text elsewhere (scheduleParams.interval is a
    # number here, a string there); lastOperation is checked against its schema
    check_contract("flow-service.yaml", "FlowItemDTO", {"lastOperation": flow["lastOperation"]})
    assert set(flow["lastOperation"]) == {"operation", "started", "updated"}


def test_flows_show_their_last_operation(api: ApiClient) -> None:
    _base, source, target, _dataset = connections(api)
    flow_id = create_flow(api, source, target)
    flow = _flow(api, flow_id)
    _check_last_operation(flow)
    assert flow["lastOperation"] == {
        "operation": "create",
        "started": flow["createdAt"],
        "updated": 0,
    }
    rename = [{"op": "replace", "path": "/name", "value": "renamed"}]
    patched = api.patch(f"/flows/{flow_id}", json=rename, headers={"If-Match": flow["etag"]})
    assert patched.status_code == 200, patched.text
    flow = _flow(api, flow_id)
    assert flow["etag"] == patched.json()["etag"] and flow["name"] == "renamed"
    assert flow["lastOperation"]["operation"] == "update"
    assert flow["lastOperation"]["updated"] == 1
    assert flow["createdAt"] <= flow["lastOperation"]["started"] <= flow["updatedAt"]
    for op, count in (("disable", 2), ("enable", 3)):
        acted = api.post(f"/flows/{flow_id}/action", params={"op": op})
        assert acted.status_code == 200, acted.text
        flow = _flow(api, flow_id)
        assert flow["etag"] == acted.json()["etag"]
        assert flow["lastOperation"]["operation"] == op
        assert flow["lastOperation"]["updated"] == count
        _check_last_operation(flow)
    # a later PATCH still works on a flow that stores its last operation
    again = api.patch(f"/flows/{flow_id}", json=rename, headers={"If-Match": flow["etag"]})
    assert again.status_code == 200, again.text
    assert _flow(api, flow_id)["lastOperation"]["operation"] == "update"


def test_a_refused_operation_is_not_recorded(api: ApiClient) -> None:
    _base, source, target, _dataset = connections(api)
    flow_id = create_flow(api, source, target)
    flow = _flow(api, flow_id)
    bad = [{"op": "replace", "path": "/flowSpec/id", "value": "x"}]
    refused = api.patch(f"/flows/{flow_id}", json=bad, headers={"If-Match": flow["etag"]})
    assert refused.status_code == 400
    assert api.post(f"/flows/{flow_id}/action", params={"op": "pause"}).status_code == 400
    assert _flow(api, flow_id)["lastOperation"]["operation"] == "create"


# -- PATCH without Content-Type ---------------------------------------------------------------


@pytest.mark.parametrize("content_type", [None, "application/x-www-form-urlencoded"])
def test_a_patch_as_the_tutorial_sends_it_is_json_patch(
    api: ApiClient, content_type: str | None
) -> None:
    _base, source, target, _dataset = connections(api)
    flow_id = create_flow(api, source, target)
    etag = _flow(api, flow_id)["etag"]
    ops = [{"op": "replace", "path": "/name", "value": "tutorial patch"}]
    patched = api.patch(
        f"/flows/{flow_id}",
        content=json.dumps(ops).encode(),
        headers={"If-Match": etag, "Content-Type": content_type},
    )
    assert patched.status_code == 200, patched.text
    assert _flow(api, flow_id)["name"] == "tutorial patch"


def test_other_methods_and_other_types_still_need_json(api: ApiClient) -> None:
    refused = {
        "type": "/placeholder/type/uri",
        "status": 400,
        "title": "BadRequestError",
        "detail": "A valid content-type must be specified",
    }
    body = json.dumps(sql_server_connection_body()).encode()
    no_type = api.post("/connections", content=body, headers={"Content-Type": None})
    assert no_type.status_code == 400 and no_type.json() == refused
    _base, source, target, _dataset = connections(api)
    flow_id = create_flow(api, source, target)
    etag = _flow(api, flow_id)["etag"]
    ops = json.dumps([{"op": "replace", "path": "/name", "value": "x"}]).encode()
    text = api.patch(
        f"/flows/{flow_id}", content=ops, headers={"If-Match": etag, "Content-Type": "text/plain"}
    )
    assert text.status_code == 400 and text.json() == refused
    malformed = api.patch(
        f"/flows/{flow_id}", content=b"[{", headers={"If-Match": etag, "Content-Type": None}
    )
    assert problem_code(malformed) == "FLOW-1100-400"
    assert _flow(api, flow_id)["name"] != "x"


# -- decimals in previews ------------------------------------------------------------------


def _decimals(precision: int, scale: int) -> st.SearchStrategy[Decimal]:
    return st.decimals(
        min_value=-(Decimal(10) ** (precision - scale)) + Decimal(1).scaleb(-scale),
        max_value=Decimal(10) ** (precision - scale) - Decimal(1).scaleb(-scale),
        places=scale,
        allow_nan=False,
        allow_infinity=False,
    )


@st.composite
def _typed_decimal(draw: st.DrawFn) -> Decimal:
    precision = draw(st.integers(min_value=1, max_value=38))
    scale = draw(st.integers(min_value=0, max_value=precision))
    return draw(_decimals(precision, scale))


@given(_typed_decimal())
def test_a_decimal_is_a_number_exactly_when_a_double_holds_it(value: Decimal) -> None:
    shown = decimal_json(value)
    wire = json.loads(json.dumps(shown))
    if isinstance(shown, float):
        # the client's double reads back as the same decimal: nothing was rounded
        assert Decimal(repr(wire)) == value
    else:
        assert Decimal(wire) == value and wire == format(value, "f")
        # and a string only when a double cannot hold it
        assert Decimal(repr(float(value))) != value
    assert decimal_json(value, as_string=True) == format(value, "f")


def test_short_decimals_are_numbers_and_long_ones_strings() -> None:
    assert decimal_json(Decimal("12.34")) == 12.34
    assert decimal_json(Decimal("-0.10")) == -0.1
    assert decimal_json(Decimal("123456789012345.6")) == 123456789012345.6
    assert decimal_json(Decimal("1234567890123456789.01")) == "1234567890123456789.01"
    assert decimal_json(Decimal("0.1000000000000000055511151231257827")) == (
        "0.1000000000000000055511151231257827"
    )


def test_dataset_preview_shows_exact_decimals_as_numbers(api: ApiClient, runtime: Runtime) -> None:
    fields = [
        {"name": "id", "type": "integer", "nullable": False},
        {"name": "amount", "type": "decimal(38,4)"},
    ]
    made = api.request(
        "POST", "/dataSets", prefix=CATALOG_PREFIX, json={"name": "money", "fields": fields}
    )
    assert made.status_code == 201, made.text
    dataset_id = made.json()[0].removeprefix("@/dataSets/")
    values = [Decimal("12.3400"), Decimal("12345678901234567890123.4567"), None]
    rows = pa.table(
        {
            "id": pa.array([1, 2, 3], pa.int64()),
            "amount": pa.array(values, pa.decimal128(38, 4)),
        }
    )
    record_batch(runtime, scope_of(runtime, api), dataset_id, rows)
    url = f"/dataSets/{dataset_id}/preview"
    data = api.request("GET", url, prefix=CATALOG_PREFIX).json()["data"]
    amounts = {row["id"]: row["amount"] for row in data}
    assert amounts == {1: 12.34, 2: "12345678901234567890123.4567", 3: None}
    exact = api.request("GET", url, prefix=CATALOG_PREFIX, params={"decimalsAsStrings": "true"})
    strings = {row["id"]: row["amount"] for row in exact.json()["data"]}
    assert strings == {1: "12.3400", 2: "12345678901234567890123.4567", 3: None}


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    init = """
    CREATE TABLE dbo.Prices (Id INT PRIMARY KEY, Amount DECIMAL(38, 4), Fee MONEY);
    INSERT INTO dbo.Prices VALUES (1, 12.3400, 1.5), (2, 12345678901234567890123.4567, NULL);
    """
    with running_emulator(init_sql=[init]) as running:
        yield running


def test_explore_preview_shows_exact_decimals_as_numbers(
    api: ApiClient, emulator: RunningEmulator
) -> None:
    text = (
        f"Data Source={emulator.host},{emulator.port};Initial Catalog={emulator.database};"
        f"Integrated Security=False;User ID={emulator.user};"
        f"Password={emulator.password};Encrypt=False;"
    )
    made = api.post("/connections", json=sql_server_connection_body(text))
    assert made.status_code == 201, made.text
    url = f"/connections/{made.json()['id']}/explore"
    params = {"objectType": "table", "object": "dbo.Prices", "preview": "true"}
    rows = {r["Id"]: r for r in api.get(url, params=params).json()["data"]}
    assert rows[1]["Amount"] == 12.34 and rows[1]["Fee"] == 1.5
    assert rows[2]["Amount"] == "12345678901234567890123.4567" and rows[2]["Fee"] is None
    exact = api.get(url, params={**params, "decimalsAsStrings": "true"}).json()["data"]
    rows = {r["Id"]: r for r in exact}
    assert rows[1]["Amount"] == "12.3400" and rows[1]["Fee"] == "1.5000"
