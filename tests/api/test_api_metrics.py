"""GET /metrics through the real app: Prometheus text read from the metadata DB at scrape time.

Runs are stored the way workers store them (``flows.persistence.runs``), on
the server's own DB, so the scrape sees what any worker process would leave.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from flow_fixtures import connections, create_flow
from prometheus_client.parser import text_string_to_metric_families
from service_harness import ApiClient, make_settings, new_org_id, scope_of, start_server

from flowservice.api.runtime import Runtime
from flowservice.flows.persistence import runs as store_runs
from flowservice.flows.persistence.schedules import new_run
from flowservice.flows.run_state import RecordCounts, RunStatus
from flowservice.store.repos import resources

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(base_url: str) -> tuple[dict[str, str], Samples]:
    """(family name -> type, (sample name, sorted labels) -> value) of one scrape."""
    response = httpx.get(f"{base_url}/metrics", timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    types: dict[str, str] = {}
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        types[family.name] = family.type
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return types, samples


def of_org(samples: Samples, org_id: str) -> Samples:
    return {k: v for k, v in samples.items() if ("org_id", org_id) in k[1]}


def _store_run(
    runtime: Runtime,
    api: ApiClient,
    flow_id: str,
    status: RunStatus,
    *,
    seconds: float | None,
    counts: RecordCounts | None = None,
) -> str:
    """A run as a worker leaves it: ``status``, and ``seconds`` from start to end if it ran."""
    scope = scope_of(runtime, api)
    now = datetime.now(UTC)
    with runtime.transaction() as session:
        flow = resources.get_resource(session, scope=scope, kind="flows", resource_id=flow_id)
        run = new_run(flow, now=now, planned_window=None, schedule_end=None)
        run.status = status
        if seconds is not None:
            run.started_at = now - timedelta(seconds=seconds)
            run.completed_at = now
        run.counts = counts or RecordCounts()
        store_runs.insert_run(session, scope=scope, run=run, start_at=now + timedelta(days=1))
    return run.id


def test_runs_records_and_durations_follow_the_stored_runs(
    api: ApiClient, runtime: Runtime
) -> None:
    types, before = scrape(api.server.base_url)
    assert types["flowservice_runs"] == "gauge"
    assert types["flowservice_run_duration_seconds"] == "histogram"
    assert types["flowservice_run_records_read"] == "gauge"
    assert types["flowservice_run_queue_depth"] == "gauge"
    assert types["flowservice_scheduler_lag_seconds"] == "gauge"
    assert of_org(before, api.org_id) == {}

    _base, source, target, _dataset = connections(api)
    flow_id = create_flow(api, source, target)
    _store_run(
        runtime, api, flow_id, RunStatus.SUCCESS, seconds=3,
        counts=RecordCounts(input_records=10, output_records=8, failed_records=2),
    )  # fmt: skip
    _store_run(
        runtime, api, flow_id, RunStatus.SUCCESS, seconds=90,
        counts=RecordCounts(input_records=5, output_records=5),
    )  # fmt: skip
    _store_run(runtime, api, flow_id, RunStatus.FAILED, seconds=0.5)
    _store_run(runtime, api, flow_id, RunStatus.CANCELLED, seconds=None)  # never started

    _types, after = scrape(api.server.base_url)
    mine = of_org(after, api.org_id)
    scope = (("org_id", api.org_id), ("sandbox", "prod"))

    def at(name: str, **labels: str) -> float:
        return mine[(name, tuple(sorted((*scope, *labels.items()))))]

    assert at("flowservice_runs", state="success") == 2
    assert at("flowservice_runs", state="failed") == 1
    assert at("flowservice_runs", state="cancelled") == 1
    assert at("flowservice_run_records_read") == 15
    assert at("flowservice_run_records_written") == 13
    assert at("flowservice_run_records_failed") == 2

    name = "flowservice_run_duration_seconds"
    assert at(f"{name}_count", state="success") == 2
    assert at(f"{name}_sum", state="success") == 93
    assert at(f"{name}_bucket", state="success", le="1.0") == 0
    assert at(f"{name}_bucket", state="success", le="5.0") == 1
    assert at(f"{name}_bucket", state="success", le="60.0") == 1
    assert at(f"{name}_bucket", state="success", le="120.0") == 2
    assert at(f"{name}_bucket", state="success", le="+Inf") == 2
    assert at(f"{name}_bucket", state="failed", le="1.0") == 1
    assert at(f"{name}_count", state="cancelled") == 0  # a run that never started has no duration

    # labels are ids: no flow, dataset or connection names, no connection details
    label_names = {name for (_, labels) in after for name, _ in labels}
    assert label_names <= {"org_id", "sandbox", "state", "le", "outcome"}
    text = httpx.get(f"{api.server.base_url}/metrics").text
    assert "Orders to the lake" not in text and "sales.Orders" not in text
    assert "127.0.0.1,1" not in text and "loader" not in text


def test_every_cumulative_histogram_is_monotonic(api: ApiClient) -> None:
    _types, samples = scrape(api.server.base_url)
    series: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = {}
    for (name, labels), value in samples.items():
        if name == "flowservice_run_duration_seconds_bucket":
            le = dict(labels)["le"]
            rest = tuple(p for p in labels if p[0] != "le")
            series.setdefault(rest, []).append((float(le), value))
    for rest, points in series.items():
        counts = [v for _, v in sorted(points)]
        assert counts == sorted(counts), rest
        assert counts[-1] == samples[("flowservice_run_duration_seconds_count", rest)]


def test_queue_depth_and_scheduler_lag_without_a_scheduler(tmp_path: Path) -> None:
    server = start_server(make_settings(tmp_path, scheduler_enabled=False))
    api = ApiClient(server, org_id=new_org_id(), client_id="metrics-queue")
    try:
        _types, empty = scrape(server.base_url)
        assert empty[("flowservice_run_queue_depth", ())] == 0
        assert empty[("flowservice_scheduler_lag_seconds", ())] == 0
        _base, source, target, _dataset = connections(api)
        flow_id = create_flow(api, source, target)
        now = int(time.time())
        made = api.post(
            "/runs",
            json={
                "flowId": flow_id,
                "params": {"windowStartTime": now - 600, "windowEndTime": now},
            },
        )
        assert made.status_code == 201, made.text
        time.sleep(1.2)
        _types, waiting = scrape(server.base_url)
        assert waiting[("flowservice_run_queue_depth", ())] == 1
        assert waiting[("flowservice_scheduler_lag_seconds", ())] >= 1.0
        key = (
            "flowservice_runs",
            (("org_id", api.org_id), ("sandbox", "prod"), ("state", "scheduled")),
        )
        assert waiting[key] == 1
    finally:
        api.close()
        server.stop()


def test_metrics_can_be_turned_off(tmp_path: Path) -> None:
    server = start_server(make_settings(tmp_path, scheduler_enabled=False, metrics_enabled=False))
    try:
        response = httpx.get(f"{server.base_url}/metrics", timeout=30)
        assert response.status_code == 404
        assert response.json()["type"].endswith("FLOW-1101-404")
        document = httpx.get(f"{server.base_url}/openapi.json", timeout=30).json()
        assert "/metrics" not in document["paths"]
    finally:
        server.stop()
