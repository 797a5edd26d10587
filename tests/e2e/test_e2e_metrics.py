"""End to end: real runs from the SQL Server emulator move /metrics and the Insights counts.

Two flows read the same table: one succeeds with partial ingestion (2 of 4
records fail their mapping), the other fails on them. The scrape and the
Observability Insights answer must match what the runs themselves report.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from flow_journey import Journey, build_flow, wait_for_run
from openapi_contract import check_contract
from prometheus_client.parser import text_string_to_metric_families
from service_harness import ApiClient, created_id

from mssql_emulator.testing import RunningEmulator, running_emulator

pytestmark = pytest.mark.timeout(180)

INIT = """
CREATE SCHEMA sales;
CREATE TABLE sales.Orders (OrderID INT PRIMARY KEY, Customer NVARCHAR(50), ShipDate NVARCHAR(20));
INSERT INTO sales.Orders VALUES
  (1, N'Ann', N'2024-03-05'), (2, N'Bob', N'soon'),
  (3, N'Cy', N'2024-03-07'), (4, N'Dee', N'later');
"""
MAPPINGS = [
    {"sourceAttribute": "OrderID", "destinationXdmPath": "orderId"},
    {"sourceAttribute": 'to_date(ShipDate, "yyyy-MM-dd")', "destinationXdmPath": "shipped"},
]
INSIGHTS = "/data/infrastructure/observability/insights"


@pytest.fixture
def server_settings() -> dict[str, Any]:
    return {"isolated_source_reads": False}


def _flow(client: ApiClient, emulator: RunningEmulator, **options: Any) -> Journey:
    return build_flow(
        client,
        emulator,
        table="sales.Orders",
        delta_column=None,
        schedule={"startTime": int(datetime.now(UTC).timestamp()) + 86_400, "frequency": "once"},
        mappings=MAPPINGS,
        options=options or None,
    )


def _scrape(client: ApiClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = httpx.get(f"{client.server.base_url}/metrics", timeout=30).text
    return {
        (s.name, frozenset((k, v) for k, v in s.labels.items() if k != "org_id")): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.labels.get("org_id") == client.org_id
    }


def _seconds(run: dict[str, Any]) -> float:
    summary = run["metrics"]["durationSummary"]
    return float(summary["completedAtUTC"] - summary["startedAtUTC"]) / 1000


def test_runs_move_the_scrape_and_the_insights(client: ApiClient) -> None:
    assert _scrape(client) == {}
    with running_emulator(init_sql=[INIT]) as emulator:
        partial = _flow(client, emulator, partialIngestionPercent="60")
        strict = _flow(client, emulator)
        runs = []
        for journey in (partial, strict):
            run_id = created_id(client.post("/runs", json={"flowId": journey.flow_id}))
            runs.append(wait_for_run(client, run_id))
    succeeded, failed = runs
    assert succeeded["metrics"]["statusSummary"]["status"] == "success", succeeded
    assert failed["metrics"]["statusSummary"]["status"] == "failed", failed

    scraped = _scrape(client)
    prod = ("sandbox", "prod")

    def at(name: str, *labels: tuple[str, str]) -> float:
        return scraped[(name, frozenset({prod, *labels}))]

    assert at("flowservice_runs", ("state", "success")) == 1
    assert at("flowservice_runs", ("state", "failed")) == 1
    summaries = [r["metrics"]["recordSummary"] for r in runs]
    assert at("flowservice_run_records_read") == sum(s["inputRecordCount"] for s in summaries)
    assert at("flowservice_run_records_written") == sum(s["outputRecordCount"] for s in summaries)
    assert at("flowservice_run_records_failed") == sum(s["failedRecordCount"] for s in summaries)
    assert at("flowservice_run_records_written") >= 2
    for run, state in ((succeeded, "success"), (failed, "failed")):
        assert at("flowservice_run_duration_seconds_count", ("state", state)) == 1
        assert at("flowservice_run_duration_seconds_sum", ("state", state)) == pytest.approx(
            _seconds(run), abs=0.002
        )

    now = datetime.now(UTC)
    body = {
        "start": (now - timedelta(hours=1)).isoformat(),
        "end": now.isoformat(),
        "granularity": "day",
        "metrics": [
            {
                "name": "timeseries.ingestion.dataset.recordsuccess.count",
                "filters": [
                    {
                        "name": "dataSetId",
                        "value": f"{partial.dataset_id}|{strict.dataset_id}",
                        "groupBy": True,
                    }
                ],
                "aggregator": "sum",
            },
            {
                "name": "timeseries.ingestion.dataset.batchfailed.count",
                "filters": [{"name": "dataSetId", "value": strict.dataset_id}],
                "aggregator": "sum",
            },
        ],
    }
    answer = client.request("POST", "/metrics", prefix=INSIGHTS, json=body)
    assert answer.status_code == 200, answer.text
    responses = answer.json()["metricResponses"]
    check_contract("observability-insights.yaml", "metricsResponses", responses)
    records, batch_failed = responses
    totals = [sum(p["dps"].values()) for p in records["datapoints"]]
    assert totals == [succeeded["metrics"]["recordSummary"]["outputRecordCount"], 0]
    assert sum(batch_failed["datapoints"][0]["dps"].values()) == 1
