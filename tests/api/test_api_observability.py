"""Observability Insights /metrics through the real app: ingestion counts per dataset.

Batches are recorded as runs record them (``flows.persistence.batches``) and
a failed run as a worker leaves it, at fixed times, so every point is known.
Answers are checked against Adobe's published document.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flow_fixtures import connections, create_flow
from openapi_contract import check_contract
from service_harness import ApiClient, create_dataset, new_org_id, scope_of

from flowservice.api.runtime import Runtime
from flowservice.flows.persistence import runs as store_runs
from flowservice.flows.persistence.batches import register_batch
from flowservice.flows.persistence.schedules import new_run
from flowservice.flows.run_state import RunStatus
from flowservice.flows.schedule import to_epoch_ms
from flowservice.store.repos import resources

PREFIX = "/data/infrastructure/observability/insights"
DOC = "observability-insights.yaml"
RECORDS = "timeseries.ingestion.dataset.recordsuccess.count"
BATCHES = "timeseries.ingestion.dataset.batchsuccess.count"
FAILED = "timeseries.ingestion.dataset.batchfailed.count"
DAILY_SIZE = "timeseries.ingestion.dataset.dailysize"
SIZE = "timeseries.ingestion.dataset.size"


def day(n: int, hour: int = 12) -> datetime:
    return datetime(2026, 7, n, hour, tzinfo=UTC)


def _batch(
    runtime: Runtime, api: ApiClient, dataset: str, at: datetime, records: int, *, ok: bool = True
) -> None:
    ms = to_epoch_ms(at)
    with runtime.transaction() as session:
        register_batch(
            session,
            scope=scope_of(runtime, api),
            dataset_id=dataset,
            batch_id=uuid.uuid4().hex,
            status="success" if ok else "failed",
            started=ms - 1000,
            completed=ms,
            record_count=records,
            size_bytes=records * 10,
        )


def _failed_run(runtime: Runtime, api: ApiClient, flow_id: str, at: datetime) -> None:
    scope = scope_of(runtime, api)
    with runtime.transaction() as session:
        flow = resources.get_resource(session, scope=scope, kind="flows", resource_id=flow_id)
        run = new_run(flow, now=at, planned_window=None, schedule_end=None)
        run.status, run.started_at, run.completed_at = RunStatus.FAILED, at, at
        store_runs.insert_run(session, scope=scope, run=run, start_at=at + timedelta(days=999))


def _ask(api: ApiClient, body: dict[str, Any]) -> Any:
    return api.request("POST", "/metrics", prefix=PREFIX, json=body)


def _metric(name: str, ids: list[str] | None = None, group_by: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "aggregator": "sum"}
    if ids is not None:
        out["filters"] = [{"name": "dataSetId", "value": "|".join(ids), "groupBy": group_by}]
    return out


def _body(*metrics: dict[str, Any], granularity: str = "day", **span: str) -> dict[str, Any]:
    return {
        "start": span.get("start", "2026-07-14T00:00:00.000Z"),
        "end": span.get("end", "2026-07-16T00:00:00.000Z"),
        "granularity": granularity,
        "metrics": list(metrics),
    }


@pytest.fixture
def ingested(api: ApiClient, runtime: Runtime) -> tuple[str, str]:
    """Dataset ``a`` (the flow's target): batches on July 13, 14 (two) and 16, a failed run on
    the 15th; dataset ``b``: one batch on the 15th."""
    _base, source, target, a = connections(api)
    flow_id = create_flow(api, source, target)
    b = create_dataset(api, "second")
    _batch(runtime, api, a, day(13), 7)
    _batch(runtime, api, a, day(14, 1), 100)
    _batch(runtime, api, a, day(14, 23), 20)
    _batch(runtime, api, a, day(16), 5)
    _batch(runtime, api, b, day(15), 40)
    _batch(runtime, api, b, day(15, 2), 0, ok=False)
    _failed_run(runtime, api, flow_id, day(15, 3))
    return a, b


def test_counts_per_dataset_by_day(api: ApiClient, ingested: tuple[str, str]) -> None:
    a, b = ingested
    response = _ask(
        api,
        _body(
            _metric(RECORDS, [a, b], group_by=True),
            _metric(BATCHES, [a, b]),
            _metric(FAILED, [a, b], group_by=True),
            _metric(DAILY_SIZE, [a]),
            _metric(SIZE, [a]),
        ),
    )
    assert response.status_code == 200, response.text
    answers = response.json()["metricResponses"]
    check_contract(DOC, "metricsResponses", answers)
    days = ["2026-07-14T00:00:00Z", "2026-07-15T00:00:00Z", "2026-07-16T00:00:00Z"]

    records, batches, failed, daily, size = answers
    assert records["metric"] == RECORDS and records["granularity"] == "DAY"
    assert records["filters"] == [{"name": "dataSetId", "value": f"{a}|{b}", "groupBy": True}]
    assert [p["groupBy"] for p in records["datapoints"]] == [{"dataSetId": a}, {"dataSetId": b}]
    assert list(records["datapoints"][0]["dps"]) == days
    assert list(records["datapoints"][0]["dps"].values()) == [120, 0, 5]
    assert list(records["datapoints"][1]["dps"].values()) == [0, 40, 0]
    # groupBy false: one series for both datasets
    assert [p["groupBy"] for p in batches["datapoints"]] == [{}]
    assert list(batches["datapoints"][0]["dps"].values()) == [2, 1, 1]
    # a failed batch row (b) and a failed run into a's target (a)
    assert [list(p["dps"].values()) for p in failed["datapoints"]] == [[0, 1, 0], [0, 1, 0]]
    assert list(daily["datapoints"][0]["dps"].values()) == [1200, 0, 50]
    # cumulative, counting the 70 bytes of July 13
    assert list(size["datapoints"][0]["dps"].values()) == [1270, 1270, 1320]


def test_without_filters_every_dataset_counts(api: ApiClient, ingested: tuple[str, str]) -> None:
    response = _ask(api, _body(_metric(RECORDS), granularity="MONTH"))
    assert response.status_code == 200, response.text
    (answer,) = response.json()["metricResponses"]
    assert answer["granularity"] == "MONTH" and answer["filters"] == []
    # buckets are whole: July holds the batch of the 13th too
    assert answer["datapoints"] == [{"groupBy": {}, "dps": {"2026-07-01T00:00:00Z": 172}}]


def test_hours_and_the_bucket_holding_the_end(api: ApiClient, ingested: tuple[str, str]) -> None:
    a, _b = ingested
    body = _body(
        _metric(RECORDS, [a]),
        granularity="HOUR",
        start="2026-07-14T00:30:00Z",
        end="2026-07-14T02:00:00Z",
    )
    response = _ask(api, body)
    assert response.status_code == 200, response.text
    dps = response.json()["metricResponses"][0]["datapoints"][0]["dps"]
    assert dps == {
        "2026-07-14T00:00:00Z": 0,
        "2026-07-14T01:00:00Z": 100,
        "2026-07-14T02:00:00Z": 0,
    }


def test_other_orgs_see_nothing_of_these_datasets(
    api: ApiClient, ingested: tuple[str, str]
) -> None:
    a, b = ingested
    outsider = api.as_other(org_id=new_org_id(), client_id=api.client_id + "-x")
    try:
        response = _ask(outsider, _body(_metric(RECORDS, [a, b], group_by=True)))
        assert response.status_code == 200, response.text
        points = response.json()["metricResponses"][0]["datapoints"]
        assert all(set(p["dps"].values()) == {0} for p in points)
    finally:
        outsider.close()


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (_body(_metric("timeseries.ingestion.dataset.nosuch.count")), "Invalid metric"),
        (_body(_metric(RECORDS), start="2026-07-17T00:00:00Z"), "Start date cannot be after"),
        (_body(_metric(RECORDS), start="yesterday"), "ISO 8601"),
        (_body(_metric(RECORDS), granularity="fortnight"), "granularity"),
        (_body(_metric(RECORDS), granularity="HOUR", end="2026-09-01T00:00:00Z"), "1000"),
        (_body({"name": RECORDS}), "aggregator is required"),
        (_body({"name": RECORDS, "aggregator": "p99"}), "aggregator must be sum"),
        (_body(), "metrics must be"),
        (
            _body({**_metric(RECORDS), "filters": [{"name": "inletId", "value": "x"}]}),
            "dataSetId",
        ),
    ],
)
def test_bad_requests_are_documented_400s(api: ApiClient, body: dict[str, Any], says: str) -> None:
    response = _ask(api, body)
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["type"].endswith("/INSGHT-1000-400")
    assert problem["title"] == "Bad request payload"
    assert says in problem["report"]["detailed-message"]
    check_contract(DOC, "400error", problem)


def test_needs_the_gateway_headers(api: ApiClient) -> None:
    response = api.request(
        "POST", "/metrics", prefix=PREFIX, json=_body(_metric(RECORDS)),
        headers={"Authorization": None},
    )  # fmt: skip
    assert response.status_code == 403
    assert response.json()["error_code"] == "403010"


def test_deprecated_v1_query(api: ApiClient, ingested: tuple[str, str]) -> None:
    a, _b = ingested
    response = api.request(
        "GET",
        "/metrics",
        prefix=PREFIX,
        params={
            "metric": [RECORDS, BATCHES],
            "id": a,
            "dateRange": "2026-07-13T00:00:00Z/2026-07-14T00:00:00Z",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    check_contract(DOC, "v1Response", body)
    assert body["id"] == a and body["imsOrgId"] == api.org_id
    assert body["timeseries"]["items"] == [
        {"timestamp": "2026-07-14T00:00:00Z", "metrics": {RECORDS: 120, BATCHES: 2}},
        {"timestamp": "2026-07-13T00:00:00Z", "metrics": {RECORDS: 7, BATCHES: 1}},
    ]
    bad = api.request("GET", "/metrics", prefix=PREFIX, params={"metric": "nosuch"})
    assert bad.status_code == 400 and bad.json()["type"].endswith("/INSGHT-1000-400")


def test_the_documented_curl_body_needs_no_json_content_type(
    api: ApiClient, ingested: tuple[str, str]
) -> None:
    a, _b = ingested
    body = _body(_metric(RECORDS, [a]))
    # curl -d sends application/x-www-form-urlencoded, as Adobe's example does
    for content_type in ("application/x-www-form-urlencoded", None):
        response = api.request(
            "POST",
            "/metrics",
            prefix=PREFIX,
            content=json.dumps(body).encode(),
            headers={"Content-Type": content_type},
        )
        assert response.status_code == 200, response.text
        dps = response.json()["metricResponses"][0]["datapoints"][0]["dps"]
        assert list(dps.values()) == [120, 0, 5]
    for raw in (b"", b"{not json", b"[" * 5000):
        bad = api.request("POST", "/metrics", prefix=PREFIX, content=raw)
        assert bad.status_code == 400, bad.text
