"""End to end: a partly ingested run's failed rows, downloaded through the Data Access API."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from flow_journey import build_flow, wait_for_run
from openapi_contract import check_contract
from service_harness import ApiClient, new_org_id

from flowservice.settings import CATALOG_PREFIX, EXPORT_PREFIX
from mssql_emulator.testing import running_emulator

pytestmark = pytest.mark.timeout(120)

INIT = """
CREATE SCHEMA sales;
CREATE TABLE sales.Orders (OrderID INT PRIMARY KEY, Customer NVARCHAR(50),
  Amount DECIMAL(10,2), UpdatedAt DATETIME2, ShipDate NVARCHAR(20));
INSERT INTO sales.Orders VALUES
  (1, N'Ann', 10.50, '2024-03-01 12:00:00', N'2024-03-05'),
  (2, N'Bob', 20.00, '2024-03-01 12:30:00', N'soon'),
  (3, N'Cé', NULL, '2024-03-02 08:15:00', N'2024-03-07'),
  (4, N'Dee', 1.25, '2024-03-02 09:00:00', N'later');
"""
MAPPINGS = [
    {"sourceAttribute": "OrderID", "destinationXdmPath": "orderId"},
    {"sourceAttribute": "upper(Customer)", "destinationXdmPath": "customer"},
    {"sourceAttribute": 'to_date(ShipDate, "yyyy-MM-dd")', "destinationXdmPath": "shipped"},
]


def _export(client: ApiClient, url: str, **params: str) -> httpx.Response:
    response: httpx.Response = client.request("GET", url, prefix=EXPORT_PREFIX, params=params)
    return response


def _download(client: ApiClient, listing: dict[str, Any]) -> list[dict[str, Any]]:
    (entry,) = listing["data"]
    href = entry["_links"]["self"]["href"]
    response = client.http.get(href, headers=client.headers)
    assert response.status_code == 200, response.text
    assert int(entry["length"]) == len(response.content)
    return [json.loads(line) for line in response.text.splitlines()]


def test_a_partly_ingested_runs_failed_rows_download(client: ApiClient) -> None:
    with running_emulator(init_sql=[INIT]) as emulator:
        journey = build_flow(
            client,
            emulator,
            table="sales.Orders",
            delta_column=None,
            schedule={
                "startTime": int(datetime.now(UTC).timestamp()) + 86_400,
                "frequency": "once",
            },
            mappings=MAPPINGS,
            options={"partialIngestionPercent": "50"},
        )
        run_id = client.post("/runs", json={"flowId": journey.flow_id}).json()["id"]
        run = wait_for_run(client, run_id)
    assert run["metrics"]["statusSummary"]["status"] == "success", run
    assert run["metrics"]["recordSummary"]["failedRecordCount"] == 2
    (batch_id,) = run["activities"][1]["targetInfo"][0]["reference"]["ids"]

    batch = client.request("GET", f"/batches/{batch_id}", prefix=CATALOG_PREFIX).json()[batch_id]
    check_contract("catalog.yaml", "batchResponse", batch)
    assert batch["failedRecordCount"] == 2
    (error,) = batch["errors"]
    assert error["recordCount"] == 2 and f"/batches/{batch_id}/failed" in error["description"]

    listing = _export(client, f"/batches/{batch_id}/failed")
    assert listing.status_code == 200, listing.text
    check_contract("data-access.yaml", "files", listing.json())
    failed = _download(client, listing.json())
    assert [line["row"] for line in failed] == [1, 3]
    assert [line["record"]["OrderID"] for line in failed] == [2, 4]
    assert failed[0]["record"]["ShipDate"] == "soon"
    assert failed[0]["record"]["Customer"] == "Bob" and failed[0]["record"]["Amount"] == "20.00"
    assert failed[0]["record"]["UpdatedAt"].startswith("2024-03-01T12:30:00")
    for line in failed:
        (reason,) = line["errors"]
        assert reason["destination"] == "shipped" and reason["mapping"] == 2
        assert reason["reason"]

    row_errors = _export(client, f"/batches/{batch_id}/meta", path="row_errors")
    check_contract("data-access.yaml", "files", row_errors.json())
    errors = _download(client, row_errors.json())
    assert errors == [{"row": line["row"], "errors": line["errors"]} for line in failed]

    input_files = _export(client, f"/batches/{batch_id}/meta", path="input_files").json()
    check_contract("data-access.yaml", "files", input_files)
    (entry,) = input_files["data"]
    described = client.http.get(entry["_links"]["self"]["href"], headers=client.headers).json()
    assert described["path"] == "sales.Orders" and described["recordCount"] == 4
    assert described["failedRecordCount"] == 2

    # another org sees nothing of it
    outsider = client.as_other(org_id=new_org_id(), client_id="e2e-outsider")
    assert _export(outsider, f"/batches/{batch_id}/failed").status_code == 404
    outsider.close()
