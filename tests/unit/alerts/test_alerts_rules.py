"""The pure parts of alerts: which kinds a run event raises, event ids, signatures, backoff."""

from __future__ import annotations

import json

import pytest

from flowservice.alerts import rules, signing
from flowservice.alerts.dispatcher import next_attempt
from flowservice.alerts.facts import RunFacts, Subscription
from flowservice.alerts.kinds import AlertKind, Phase

EVERY = frozenset(AlertKind)


def _sub(**changes: object) -> Subscription:
    base: dict[str, object] = {
        "id": "sub",
        "org_id": "ORG@AdobeOrg",
        "sandbox_id": "sbx",
        "url": "http://127.0.0.1/x",
        "kinds": EVERY,
    }
    base.update(changes)
    return Subscription(**base)  # type: ignore[arg-type]


def _facts(**changes: object) -> RunFacts:
    base: dict[str, object] = {"run_id": "r1", "flow_id": "f1", "status": "success", "attempt": 1}
    base.update(changes)
    return RunFacts(**base)  # type: ignore[arg-type]


def test_start_success_and_failure() -> None:
    sub = _sub()
    assert rules.alerts_for(sub, Phase.STARTED, _facts(status="inProgress")) == [AlertKind.START]
    assert rules.alerts_for(sub, Phase.FINISHED, _facts()) == [AlertKind.SUCCESS]
    assert rules.alerts_for(sub, Phase.FINISHED, _facts(status="failed")) == [AlertKind.FAILURE]
    assert rules.alerts_for(sub, Phase.FINISHED, _facts(status="cancelled")) == []


@pytest.mark.parametrize(
    ("failed", "total", "threshold", "fires"),
    [
        (0, 1000, 0.5, False),
        (5, 1000, 0.5, False),  # exactly 0.5 % is not above it
        (6, 1000, 0.5, True),
        (1, 0, 99.0, True),  # failures without input count as 100 %
        (50, 100, 50.0, False),
        (51, 100, 50.0, True),
    ],
)
def test_error_rate_is_failed_over_input_above_the_threshold(
    failed: int, total: int, threshold: float, fires: bool
) -> None:
    facts = _facts(failed_records=failed, input_records=total)
    kinds = rules.alerts_for(_sub(error_rate_percent=threshold), Phase.FINISHED, facts)
    assert (AlertKind.ERROR_RATE in kinds) is fires
    # raised at the end of a run only
    assert AlertKind.ERROR_RATE not in rules.alerts_for(_sub(), Phase.STARTED, facts)


def test_kinds_and_flows_narrow_the_alerts() -> None:
    facts = _facts(failed_records=10, input_records=10)
    only = _sub(kinds=frozenset({AlertKind.ERROR_RATE}))
    assert rules.alerts_for(only, Phase.FINISHED, facts) == [AlertKind.ERROR_RATE]
    other_flow = _sub(flow_ids=frozenset({"f2"}))
    assert rules.alerts_for(other_flow, Phase.FINISHED, facts) == []


def test_delay_counts_minutes_since_the_start() -> None:
    sub = _sub(delay_minutes=150.0)
    running = _facts(status="inProgress", started_at_ms=0)
    assert not rules.is_delayed(sub, running, now_ms=150 * 60_000)
    assert rules.is_delayed(sub, running, now_ms=150 * 60_000 + 1)
    assert not rules.is_delayed(sub, _facts(started_at_ms=0), now_ms=10**12)
    no_delay = _sub(kinds=frozenset({AlertKind.START}))
    assert not rules.is_delayed(no_delay, running, now_ms=10**12)


def test_event_ids_are_stable_per_run_attempt_and_kind() -> None:
    first = rules.event_id("r1", 1, AlertKind.SUCCESS)
    assert first == rules.event_id("r1", 1, AlertKind.SUCCESS)
    others = {
        rules.event_id("r1", 2, AlertKind.SUCCESS),
        rules.event_id("r2", 1, AlertKind.SUCCESS),
        rules.event_id("r1", 1, AlertKind.FAILURE),
    }
    assert first not in others and len(others) == 3


def test_payload_carries_code_id_and_run() -> None:
    facts = _facts(failed_records=1, input_records=4, error_code=None)
    body = json.loads(
        rules.payload(
            kind=AlertKind.ERROR_RATE, sub=_sub(), facts=facts, sandbox_name="prod", created_ms=5
        )
    )
    assert body["event_code"] == "sources_ingestion_error_rate_exceeded"
    assert body["event_id"] == rules.event_id("r1", 1, AlertKind.ERROR_RATE)
    assert body["event"]["errorRatePercent"] == 25.0
    assert body["event"]["metrics"]["recordSummary"]["failedRecordCount"] == 1


def test_signature_covers_timestamp_and_body() -> None:
    body = b'{"a":1}'
    headers = signing.signed_headers(
        secret="s" * 20, event_id="e", event_code="c", timestamp=1_000, body=body
    )
    assert headers["x-flowservice-signature"].startswith("sha256=")
    assert signing.verify("s" * 20, headers, body, now=1_010)
    assert not signing.verify("s" * 20, headers, body + b" ", now=1_010)
    assert not signing.verify("t" * 20, headers, body, now=1_010)
    assert not signing.verify("s" * 20, headers, body, now=1_000 + 301)  # a replay, later
    moved = {**headers, "x-flowservice-timestamp": "1001"}
    assert not signing.verify("s" * 20, moved, body, now=1_010)


def test_backoff_doubles_up_to_its_cap_and_stops_with_the_window() -> None:
    waits = [
        next_attempt(n, now=0, give_up_at=10**9, base_ms=1_000, max_ms=8_000) for n in range(1, 7)
    ]
    assert waits == [1_000, 2_000, 4_000, 8_000, 8_000, 8_000]
    assert next_attempt(3, now=9_500, give_up_at=10_000, base_ms=1_000, max_ms=8_000) == 10_000
    assert next_attempt(3, now=10_000, give_up_at=10_000, base_ms=1_000, max_ms=8_000) is None
