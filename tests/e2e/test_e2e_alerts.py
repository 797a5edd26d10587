"""End to end: flow run alerts reach a real webhook receiver, signed, once, retried, unhurried.

The receiver is an http.server on loopback (``webhook_receiver``); runs read
from the SQL Server emulator through a real server with its scheduler and
alert dispatcher.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flow_journey import Journey, build_flow, get_run, wait_for_run
from gated_engine import Gate, GatedEngine
from service_harness import ApiClient, created_id
from webhook_receiver import Received, WebhookReceiver

from mssql_emulator.testing import RunningEmulator, default_engine, running_emulator

pytestmark = pytest.mark.timeout(180)

START = "sources_flow_run_start"
SUCCESS = "sources_flow_run_success"
FAILURE = "sources_flow_run_failure"
DELAY = "sources_flow_run_delay"
ERROR_RATE = "sources_ingestion_error_rate_exceeded"

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


@pytest.fixture
def server_settings() -> dict[str, Any]:
    return {
        "isolated_source_reads": False,
        "alert_dispatch_interval_seconds": 0.1,
        "alert_backoff_base_seconds": 0.2,
        "alert_backoff_max_seconds": 0.5,
        "alert_retry_window_seconds": 60.0,
        "alert_delivery_timeout_seconds": 8.0,
    }


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    running = WebhookReceiver().up()
    yield running
    running.down()


def verify(secret: str, headers: dict[str, str], body: bytes, tolerance: int = 300) -> bool:
    """The check docs/alerts.md shows a receiver, written out here as a receiver would."""
    timestamp = headers["x-flowservice-timestamp"]
    if abs(time.time() - int(timestamp)) > tolerance:
        return False
    signed = timestamp.encode() + b"." + body
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["x-flowservice-signature"])


def _subscribe(client: ApiClient, url: str, **body: Any) -> tuple[str, str]:
    made = client.post("/alerts/subscriptions", json={"name": "hook", "url": url, **body})
    sub_id = created_id(made)
    return sub_id, str(made.json()["secret"])


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


def _run(client: ApiClient, flow_id: str) -> dict[str, Any]:
    run_id = created_id(client.post("/runs", json={"flowId": flow_id}))
    return wait_for_run(client, run_id)


def _deliveries(client: ApiClient, sub_id: str) -> list[dict[str, Any]]:
    response = client.get(f"/alerts/subscriptions/{sub_id}/deliveries")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def _codes_of(received: list[Received], run_id: str) -> list[str]:
    return sorted(r.json["event_code"] for r in received if r.json["event"]["id"] == run_id)


def test_each_alert_arrives_once_signed(client: ApiClient, receiver: WebhookReceiver) -> None:
    sub_id, secret = _subscribe(client, receiver.url)
    with running_emulator(init_sql=[INIT]) as emulator:
        partial = _flow(client, emulator, partialIngestionPercent="60")
        strict = _flow(client, emulator)
        succeeded = _run(client, partial.flow_id)
        failed = _run(client, strict.flow_id)
    assert succeeded["metrics"]["statusSummary"]["status"] == "success", succeeded
    assert succeeded["metrics"]["recordSummary"]["failedRecordCount"] == 2
    assert failed["metrics"]["statusSummary"]["status"] == "failed", failed

    receiver.wait_for(START, count=2)
    receiver.wait_for(SUCCESS)
    receiver.wait_for(FAILURE)
    receiver.wait_for(ERROR_RATE, count=2)  # 2 of 4 records failed in each run: 50 % > 0.5 %
    time.sleep(1.0)  # a duplicate would have arrived by now
    received = receiver.events()
    assert _codes_of(received, succeeded["id"]) == sorted([START, SUCCESS, ERROR_RATE])
    assert _codes_of(received, failed["id"]) == sorted([START, FAILURE, ERROR_RATE])
    assert len(received) == 6
    for request in received:
        assert verify(secret, request.headers, request.body), request.headers
        assert not verify(secret + "x", request.headers, request.body)
        assert request.headers["x-flowservice-event-id"] == request.json["event_id"]
        assert request.headers["x-flowservice-event-code"] == request.json["event_code"]
        assert request.json["subscriptionId"] == sub_id
        assert request.json["event"]["imsOrgId"] == client.org_id
        assert request.json["event"]["sandboxName"] == "prod"
        assert secret not in request.body.decode()
    assert len({r.json["event_id"] for r in received}) == 6
    rate = next(r.json for r in received if r.json["event_code"] == ERROR_RATE)
    assert rate["event"]["errorRatePercent"] == 50.0
    assert rate["event"]["threshold"] == {"errorRatePercent": 0.5}

    log = _deliveries(client, sub_id)
    assert len(log) == 6
    assert {d["status"] for d in log} == {"delivered"}
    assert {d["attempts"] for d in log} == {1}
    assert {d["lastStatusCode"] for d in log} == {200}
    assert {d["eventId"] for d in log} == {r.json["event_id"] for r in received}
    assert all(d["deliveredAt"] and d["nextAttemptAt"] is None for d in log)


def test_kinds_and_flow_filters_narrow_what_is_sent(
    client: ApiClient, receiver: WebhookReceiver
) -> None:
    with running_emulator(init_sql=[INIT]) as emulator:
        watched = _flow(client, emulator, partialIngestionPercent="60")
        other = _flow(client, emulator, partialIngestionPercent="60")
        _subscribe(
            client,
            receiver.url,
            kinds=[SUCCESS, ERROR_RATE],
            flowIds=[watched.flow_id],
            errorRatePercent=50,  # 50 % is not above 50 %
        )
        first = _run(client, watched.flow_id)
        _run(client, other.flow_id)
    receiver.wait_for(SUCCESS)
    time.sleep(1.0)
    assert [(r.json["event_code"], r.json["event"]["id"]) for r in receiver.events()] == [
        (SUCCESS, first["id"])
    ]


def test_receiver_down_then_up_gets_the_same_event(
    client: ApiClient, receiver: WebhookReceiver
) -> None:
    sub_id, secret = _subscribe(client, receiver.url, kinds=[SUCCESS])
    receiver.down()
    with running_emulator(init_sql=[INIT]) as emulator:
        run = _run(client, _flow(client, emulator, partialIngestionPercent="60").flow_id)
    deadline = time.monotonic() + 20
    while not (log := _deliveries(client, sub_id)) or log[0]["attempts"] < 3:
        assert time.monotonic() < deadline, log
        time.sleep(0.1)
    (pending,) = log
    assert pending["status"] == "pending" and pending["deliveredAt"] is None
    assert pending["lastError"] and pending["lastStatusCode"] is None
    assert pending["nextAttemptAt"] is not None

    receiver.status = 503  # up, but failing: still retried
    receiver.up()
    receiver.wait_for(SUCCESS)
    receiver.status = 200
    (delivered,) = receiver.wait_for(SUCCESS, count=2)[1:]
    first = receiver.events(SUCCESS)[0]
    assert delivered.json["event_id"] == first.json["event_id"]
    assert delivered.body == first.body
    assert delivered.json["event"]["id"] == run["id"]
    assert verify(secret, delivered.headers, delivered.body)
    deadline = time.monotonic() + 10
    while (entry := _deliveries(client, sub_id)[0])["status"] != "delivered":
        assert time.monotonic() < deadline, entry
        time.sleep(0.1)
    assert entry["attempts"] >= 5 and entry["lastStatusCode"] == 200
    assert entry["eventId"] == first.json["event_id"]


def test_a_slow_receiver_does_not_hold_the_run(
    client: ApiClient, receiver: WebhookReceiver
) -> None:
    _subscribe(client, receiver.url, kinds=[START, SUCCESS])
    receiver.delay = 6.0
    with running_emulator(init_sql=[INIT]) as emulator:
        flow = _flow(client, emulator, partialIngestionPercent="60")
        asked = time.time()
        run = _run(client, flow.flow_id)
        finished = time.time()
    assert run["metrics"]["statusSummary"]["status"] == "success"
    (start,) = receiver.wait_for(START, timeout=30)
    # the start alert was answered only after the receiver slept; the run had ended before
    completed = run["metrics"]["durationSummary"]["completedAtUTC"] / 1000
    assert completed < start.at, (completed, start.at)
    assert finished - asked < receiver.delay
    receiver.wait_for(SUCCESS, timeout=30)


def test_delay_alert_fires_once_while_the_run_is_still_running(
    client: ApiClient, receiver: WebhookReceiver
) -> None:
    engine = default_engine(["testdb"])
    engine.run_script("testdb", INIT)  # type: ignore[attr-defined]
    gated = GatedEngine(engine, Gate("[sales].[Orders]"))
    sub_id, secret = _subscribe(client, receiver.url, kinds=[DELAY], delayMinutes=0.02)
    with running_emulator(engine=gated, database="testdb") as emulator:  # type: ignore[arg-type]
        flow = _flow(client, emulator, partialIngestionPercent="60")
        gated.gate.armed = True
        run_id = created_id(client.post("/runs", json={"flowId": flow.flow_id}))
        assert gated.gate.reached.wait(timeout=30)
        try:
            (alert,) = receiver.wait_for(DELAY, timeout=20)
            assert get_run(client, run_id)["metrics"]["statusSummary"]["status"] == "inProgress"
            time.sleep(1.5)  # several more scheduler ticks: still one alert
            assert len(receiver.events(DELAY)) == 1
        finally:
            gated.gate.release.set()
        done = wait_for_run(client, run_id)
    assert done["metrics"]["statusSummary"]["status"] == "success"
    assert alert.json["event"]["id"] == run_id
    assert alert.json["event"]["metrics"]["statusSummary"]["status"] == "inProgress"
    assert alert.json["event"]["threshold"] == {"delayMinutes": 0.02}
    assert verify(secret, alert.headers, alert.body)
    time.sleep(0.5)
    assert len(receiver.events()) == 1
    assert [d["kind"] for d in _deliveries(client, sub_id)] == [DELAY]
