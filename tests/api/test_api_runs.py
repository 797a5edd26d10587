"""/runs through the real app: on-demand runs, filters, cancel, re-trigger, a failing source."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flow_fixtures import connections, create_flow
from service_harness import (
    ApiClient,
    make_settings,
    new_org_id,
    problem_code,
    scope_of,
    start_server,
)

from flowservice.api.runtime import Runtime
from flowservice.flows.persistence import runs as store_runs
from flowservice.flows.persistence.schedules import new_run
from flowservice.flows.run_state import RunStatus
from flowservice.flows.schedule import Window, from_epoch_seconds
from flowservice.store.repos import resources

FINAL = ("success", "failed", "cancelled")


def _status(api: ApiClient, run_id: str) -> str:
    item = api.get(f"/runs/{run_id}").json()["items"][0]
    return str(item["metrics"]["statusSummary"]["status"])


def _wait(api: ApiClient, run_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while _status(api, run_id) not in FINAL:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    item: dict[str, Any] = api.get(f"/runs/{run_id}").json()["items"][0]
    return item


def _later() -> str:
    return str(int(time.time()) + 3600)


def test_future_run_waits_cancel_and_retrigger(api: ApiClient) -> None:
    _base, source, target, _dataset = connections(api)
    flow_id = create_flow(api, source, target)
    now = int(time.time())
    params = {"windowStartTime": str(now - 7200), "windowEndTime": str(now - 60)}
    response = api.post(
        "/runs", json={"flowId": flow_id, "params": {**params, "startTime": _later()}}
    )
    assert response.status_code == 201, response.text
    run_id = response.json()["id"]
    time.sleep(2.5)  # more than a scheduler tick: a future run is not started early
    run = api.get(f"/runs/{run_id}").json()["items"][0]
    assert run["metrics"]["statusSummary"]["status"] == "scheduled"
    assert run["flowId"] == flow_id and run["etag"] == response.json()["etag"]
    window = run["activities"][0]["durationSummary"]["extensions"]
    assert window == {"windowStart": (now - 7200) * 1000, "windowEnd": (now - 60) * 1000}

    # one active run per flow
    second = api.post("/runs", json={"flowId": flow_id, "params": params})
    assert problem_code(second) == "FLOW-1416-400"

    cancelled = api.post(f"/runs/{run_id}/action", params={"op": "cancel"})
    assert cancelled.status_code == 200, cancelled.text
    assert _status(api, run_id) == "cancelled"
    again = api.post(f"/runs/{run_id}/action", params={"op": "cancel"})
    assert problem_code(again) == "FLOW-1416-400"

    listed = api.get("/runs", params={"property": [f"flowId=={flow_id}", "state==cancelled"]})
    assert [r["id"] for r in listed.json()["items"]] == [run_id]
    by_status = api.get("/runs", params={"property": "metrics.statusSummary.status==success"})
    assert by_status.json()["items"] == []
    flow = api.get(f"/flows/{flow_id}").json()["items"][0]
    assert flow["lastRunDetails"]["id"] == run_id
    assert flow["lastRunDetails"]["state"] == "cancelled"

    # re-triggered now, the run executes (against a closed port: it keeps retrying) until cancelled
    retriggered = api.post(f"/runs/{run_id}/action", params={"op": "re-trigger"})
    assert retriggered.status_code == 200, retriggered.text
    assert _status(api, run_id) in ("scheduled", "inProgress")
    deadline = time.monotonic() + 10
    while _status(api, run_id) != "inProgress":
        assert time.monotonic() < deadline, "the re-triggered run did not start"
        time.sleep(0.1)
    stop = api.post(f"/runs/{run_id}/action", params={"op": "cancel"})
    assert stop.status_code == 200, stop.text
    done = _wait(api, run_id)
    assert done["metrics"]["statusSummary"]["status"] == "cancelled"
    assert "S3cret!pw" not in str(done)
    started = done["metrics"]["durationSummary"]["startedAtUTC"]
    after = api.get(
        "/runs", params={"property": f"metrics.durationSummary.startedAtUTC>{started - 1}"}
    )
    assert [r["id"] for r in after.json()["items"]] == [run_id]
    flows = api.get(
        "/flows", params={"property": f"lastRunDetails.startedAtUTC>={started}"}
    ).json()["items"]
    assert [f["id"] for f in flows] == [flow_id]
    later = api.get("/flows", params={"property": f"lastRunDetails.startedAtUTC>{started}"})
    assert later.json()["items"] == []


def test_invalid_run_requests(api: ApiClient) -> None:
    _base, source, target, _dataset = connections(api)
    flow_id = create_flow(api, source, target)
    now = int(time.time())
    cases: list[tuple[dict[str, Any], str]] = [
        ({"flowId": "nope"}, "FLOW-1455-400"),
        ({"flowId": flow_id, "params": {"windowStartTime": str(now - 60)}}, "FLOW-1455-400"),
        (
            {
                "flowId": flow_id,
                "params": {"windowStartTime": now - 60, "windowEndTime": now + 600},
            },
            "FLOW-1455-400",
        ),
        (
            {
                "flowId": flow_id,
                "params": {
                    "windowStartTime": now - 60,
                    "windowEndTime": now - 30,
                    "deltaColumn": {"name": "Other"},
                },
            },
            "FLOW-1455-400",
        ),
        ({"flowId": flow_id, "extra": 1}, "FLOW-1455-400"),
    ]
    for body, code in cases:
        response = api.post("/runs", json=body)
        assert problem_code(response) == code, (body, response.text)
    assert api.get("/runs", params={"count": "true"}).json() == {"count": 0}
    bad = api.post("/runs/whatever/action", params={"op": "cancel"})
    assert problem_code(bad) == "FLOW-1101-404"


def test_runs_are_isolated(api: ApiClient) -> None:
    _base, source, target, _dataset = connections(api)
    flow_id = create_flow(api, source, target)
    now = int(time.time())
    made = api.post(
        "/runs",
        json={
            "flowId": flow_id,
            "params": {
                "windowStartTime": now - 600,
                "windowEndTime": now - 60,
                "startTime": _later(),
            },
        },
    )
    run_id = made.json()["id"]
    outsider = api.as_other(org_id=new_org_id(), client_id=api.client_id + "-x")
    assert outsider.get(f"/runs/{run_id}").status_code == 404
    assert outsider.get("/runs").json()["items"] == []
    assert outsider.post(f"/runs/{run_id}/action", params={"op": "cancel"}).status_code == 404
    assert outsider.post("/runs", json={"flowId": flow_id}).status_code == 400
    outsider.close()
    assert api.post(f"/runs/{run_id}/action", params={"op": "cancel"}).status_code == 200


def test_without_scheduler_runs_wait(tmp_path: Path) -> None:
    server = start_server(make_settings(tmp_path, scheduler_enabled=False))
    api = ApiClient(server, org_id=new_org_id(), client_id="no-scheduler")
    try:
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
        time.sleep(1.0)
        assert _status(api, made.json()["id"]) == "scheduled"
    finally:
        api.close()
        server.stop()


def test_first_on_demand_run_names_the_delta_column(api: ApiClient) -> None:
    _base, source, target, _dataset = connections(api)
    flow_id = create_flow(api, source, target, transformations=[])
    now = int(time.time())
    window = {"windowStartTime": now - 600, "windowEndTime": now - 60}
    # a snapshot flow takes no window...
    refused = api.post("/runs", json={"flowId": flow_id, "params": window})
    assert problem_code(refused) == "FLOW-1455-400"
    # ...unless the request names the delta column, which the flow then keeps
    made = api.post(
        "/runs",
        json={
            "flowId": flow_id,
            "params": {**window, "startTime": _later(), "deltaColumn": {"name": "UpdatedAt"}},
        },
    )
    assert made.status_code == 201, made.text
    flow = api.get(f"/flows/{flow_id}").json()["items"][0]
    assert flow["transformations"] == [
        {"name": "Copy", "params": {"deltaColumn": {"name": "UpdatedAt", "timezone": "UTC"}}}
    ]
    run = api.get(f"/runs/{made.json()['id']}").json()["items"][0]
    assert run["activities"][0]["durationSummary"]["extensions"]["windowEnd"] == (now - 60) * 1000
    assert api.post(f"/runs/{run['id']}/action", params={"op": "cancel"}).status_code == 200


def test_deleting_a_flow_cancels_its_scheduled_run(api: ApiClient) -> None:
    _base, source, target, _dataset = connections(api)
    flow_id = create_flow(api, source, target)
    now = int(time.time())
    params = {"windowStartTime": now - 600, "windowEndTime": now - 60, "startTime": _later()}
    run_id = api.post("/runs", json={"flowId": flow_id, "params": params}).json()["id"]
    assert api.delete(f"/flows/{flow_id}").status_code == 204
    assert _status(api, run_id) == "cancelled"
    assert api.get(f"/flows/{flow_id}").status_code == 404


def test_a_disabled_flow_takes_no_on_demand_run_nor_re_trigger(api: ApiClient) -> None:
    _base, source, target, _dataset = connections(api)
    flow_id = create_flow(api, source, target)
    now = int(time.time())
    params = {"windowStartTime": now - 600, "windowEndTime": now - 60, "startTime": _later()}
    parked = api.post("/runs", json={"flowId": flow_id, "params": params}).json()["id"]
    assert api.post(f"/runs/{parked}/action", params={"op": "cancel"}).status_code == 200
    disabled = api.post(f"/flows/{flow_id}/action", params={"op": "disable"})
    assert disabled.status_code == 200, disabled.text

    refused = api.post("/runs", json={"flowId": flow_id, "params": params})
    assert problem_code(refused) == "FLOW-1416-400", refused.text
    message = refused.json()["errorMessage"]
    assert flow_id in message and "disabled" in message and "enable it first" in message
    again = api.post(f"/runs/{parked}/action", params={"op": "re-trigger"})
    assert problem_code(again) == "FLOW-1416-400", again.text
    assert flow_id in again.json()["errorMessage"]
    assert _status(api, parked) == "cancelled"
    assert [r["id"] for r in api.get("/runs").json()["items"]] == [parked]

    assert api.post(f"/flows/{flow_id}/action", params={"op": "enable"}).status_code == 200
    made = api.post("/runs", json={"flowId": flow_id, "params": params})
    assert made.status_code == 201, made.text
    assert api.post(f"/runs/{made.json()['id']}/action", params={"op": "cancel"}).status_code == 200


def _committed(runtime: Runtime, api: ApiClient, flow_id: str, start: int, end: int) -> str:
    """What a worker leaves after committing ``[start, end)``: a successful run, the position."""
    scope = scope_of(runtime, api)
    with runtime.transaction() as session:
        flow = resources.get_resource(session, scope=scope, kind="flows", resource_id=flow_id)
        run = new_run(
            flow,
            now=datetime.now(UTC),
            planned_window=Window(from_epoch_seconds(start), from_epoch_seconds(end)),
            schedule_end=None,
        )
        run.status = RunStatus.SUCCESS
        store_runs.insert_run(session, scope=scope, run=run, start_at=datetime.now(UTC))
        store_runs.advance_watermark(session, flow_id, from_epoch_seconds(end))
    return run.id


def test_windows_overlapping_a_committed_one_or_after_the_position_are_refused(
    api: ApiClient, runtime: Runtime
) -> None:
    _base, source, target, _dataset = connections(api)
    flow_id = create_flow(api, source, target)
    now = int(time.time())
    committed = _committed(runtime, api, flow_id, now - 7200, now - 3600)

    def post(start: int, end: int) -> Any:
        params = {"windowStartTime": start, "windowEndTime": end, "startTime": _later()}
        return api.post("/runs", json={"flowId": flow_id, "params": params})

    for start, end in [(0, now), (now - 7200, now - 3600), (now - 9000, now - 7199)]:
        overlapping = post(start, end)
        assert problem_code(overlapping) == "FLOW-1455-400", overlapping.text
        message = overlapping.json()["errorMessage"]
        assert committed in message and f"[{now - 7200}, {now - 3600})" in message
    gap = post(now - 3000, now)
    assert problem_code(gap) == "FLOW-1455-400"
    assert f"at or before {now - 3600}" in gap.json()["errorMessage"]
    listed = api.get("/runs", params={"property": f"flowId=={flow_id}"}).json()["items"]
    assert [r["id"] for r in listed] == [committed]
    # touching the committed window is fine on both sides: before it, and from the position on
    for start, end in [(now - 9000, now - 7200), (now - 3600, now)]:
        made = post(start, end)
        assert made.status_code == 201, made.text
        cancelled = api.post(f"/runs/{made.json()['id']}/action", params={"op": "cancel"})
        assert cancelled.status_code == 200


def test_disabling_a_flow_cancels_its_runs_waiting_to_start(api: ApiClient) -> None:
    _base, source, target, _dataset = connections(api)
    flow_id = create_flow(api, source, target)
    now = int(time.time())
    params = {"windowStartTime": now - 600, "windowEndTime": now - 60, "startTime": _later()}
    waiting = api.post("/runs", json={"flowId": flow_id, "params": params}).json()["id"]
    assert _status(api, waiting) == "scheduled"
    disabled = api.post(f"/flows/{flow_id}/action", params={"op": "disable"})
    assert disabled.status_code == 200, disabled.text
    assert _status(api, waiting) == "cancelled"
