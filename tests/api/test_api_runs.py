"""/runs through the real app: on-demand runs, filters, cancel, re-trigger, a failing source."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from flow_fixtures import connections, create_flow
from service_harness import ApiClient, make_settings, new_org_id, problem_code, start_server

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
