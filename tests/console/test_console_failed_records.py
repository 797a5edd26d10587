"""A run's failed records, downloaded from the run's console page with the session's scope."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from console_harness import console_link, create_flow
from flow_journey import build_flow, wait_for_run
from service_harness import ApiClient, RunningServer, new_org_id

from flowservice.settings import EXPORT_PREFIX
from mssql_emulator.testing import running_emulator

INIT = """
CREATE SCHEMA sales;
CREATE TABLE sales.Orders (OrderID INT PRIMARY KEY, ShipDate NVARCHAR(20));
INSERT INTO sales.Orders VALUES (1, N'2024-03-05'), (2, N'soon'), (3, N'2024-03-07'),
  (4, N'later');
"""
MAPPINGS = [
    {"sourceAttribute": "OrderID", "destinationXdmPath": "orderId"},
    {"sourceAttribute": 'to_date(ShipDate, "yyyy-MM-dd")', "destinationXdmPath": "shipped"},
]


def _api_bytes(api: ApiClient, run: dict[str, Any]) -> bytes:
    (batch_id,) = run["activities"][1]["targetInfo"][0]["reference"]["ids"]
    url = f"/batches/{batch_id}/failed"
    listing = api.request("GET", url, prefix=EXPORT_PREFIX).json()
    (entry,) = listing["data"]
    answer: httpx.Response = api.request(
        "GET", url, prefix=EXPORT_PREFIX, params={"path": entry["name"]}
    )
    assert answer.status_code == 200, answer.text
    return answer.content


def test_the_failed_records_download_from_the_run_page(
    console_server: RunningServer, org_api: ApiClient, page: Any
) -> None:
    with running_emulator(init_sql=[INIT]) as emulator:
        journey = build_flow(
            org_api,
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
        run_id = org_api.post("/runs", json={"flowId": journey.flow_id}).json()["id"]
        run = wait_for_run(org_api, run_id)
    assert run["metrics"]["recordSummary"]["failedRecordCount"] == 2, run

    page.goto(console_link(console_server, org_api.org_id, read_only=True))
    page.wait_for_url(re.compile(r"/console/dataflows$"))
    page.goto(f"{console_server.base_url}/console/runs/{run_id}")
    link = page.get_by_role("link", name="Download the failed records")
    with page.expect_download() as started:
        link.click()
    download = started.value
    assert download.suggested_filename == f"failed-records-{run_id}.ndjson"
    content = Path(download.path()).read_bytes()
    assert content == _api_bytes(org_api, run)
    assert [json.loads(line)["record"]["OrderID"] for line in content.splitlines()] == [2, 4]

    # another org's session: the run is not found, nothing is downloaded
    other = ApiClient(console_server, org_id=new_org_id(), client_id="c-other-failed")
    try:
        assert other.get("/flows").status_code == 200
        page.goto(console_link(console_server, other.org_id))
        page.wait_for_url(re.compile(r"/console/dataflows$"))
    finally:
        other.close()
    response = page.request.get(f"{console_server.base_url}/console/runs/{run_id}/failed-records")
    assert response.status == 404
    assert b"OrderID" not in response.body()


def test_a_run_without_failed_records_has_no_download_link(
    console_server: RunningServer, org_api: ApiClient, page: Any
) -> None:
    flow_id, _account = create_flow(org_api, "Unreachable")
    run_id = org_api.post("/runs", json={"flowId": flow_id}).json()["id"]
    wait_for_run(org_api, run_id)
    page.goto(console_link(console_server, org_api.org_id))
    page.wait_for_url(re.compile(r"/console/dataflows$"))
    page.goto(f"{console_server.base_url}/console/runs/{run_id}")
    assert page.get_by_test_id("run-status").is_visible()
    assert page.get_by_test_id("failed-records").count() == 0
