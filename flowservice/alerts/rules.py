"""Which alerts a run event raises for a subscription, their event ids and their payloads.

Pure functions. An event id is derived from the run, its attempt and the
kind, so the same alert always has the same id: a receiver can deduplicate
on it, and the store delivers it once per subscription.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from flowservice.alerts.facts import RunFacts, Subscription
from flowservice.alerts.kinds import AlertKind, Phase

_NAMESPACE = uuid.UUID("7d1c5e0a-3f55-4a59-9a52-1f0c2b8e6a41")


def event_id(run_id: str, attempt: int, kind: AlertKind) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{run_id}:{attempt}:{kind}"))


def error_rate_percent(facts: RunFacts) -> float:
    """failed / input x 100; a run with failures and no input counts as 100 %."""
    if facts.failed_records <= 0:
        return 0.0
    if facts.input_records <= 0:
        return 100.0
    return facts.failed_records / facts.input_records * 100.0


def alerts_for(sub: Subscription, phase: Phase, facts: RunFacts) -> list[AlertKind]:
    """The kinds ``sub`` wants for this run event (delay is checked apart, while running)."""
    if not sub.watches(facts.flow_id):
        return []
    found: list[AlertKind] = []
    if phase is Phase.STARTED:
        found.append(AlertKind.START)
    elif facts.status == "success":
        found.append(AlertKind.SUCCESS)
    elif facts.status == "failed":
        found.append(AlertKind.FAILURE)
    if phase is Phase.FINISHED and error_rate_percent(facts) > sub.error_rate_percent:
        found.append(AlertKind.ERROR_RATE)
    return [kind for kind in found if kind in sub.kinds]


def is_delayed(sub: Subscription, facts: RunFacts, *, now_ms: int) -> bool:
    """Still running longer than the subscription's delay threshold."""
    if AlertKind.DELAY not in sub.kinds or not sub.watches(facts.flow_id):
        return False
    if facts.status != "inProgress" or facts.started_at_ms is None:
        return False
    return now_ms - facts.started_at_ms > sub.delay_minutes * 60_000


def payload(
    *,
    kind: AlertKind,
    sub: Subscription,
    facts: RunFacts,
    sandbox_name: str,
    created_ms: int,
) -> str:
    """The JSON body sent (the same bytes on every attempt)."""
    summary: dict[str, Any] = {"status": facts.status}
    if facts.error_code is not None:
        summary["errors"] = [{"code": facts.error_code}]
    event: dict[str, Any] = {
        "id": facts.run_id,
        "flowId": facts.flow_id,
        "attempt": facts.attempt,
        "imsOrgId": sub.org_id,
        "sandboxId": sub.sandbox_id,
        "sandboxName": sandbox_name,
        "metrics": {
            "durationSummary": {
                "startedAtUTC": facts.started_at_ms,
                "completedAtUTC": facts.completed_at_ms,
            },
            "recordSummary": {
                "inputRecordCount": facts.input_records,
                "outputRecordCount": facts.output_records,
                "failedRecordCount": facts.failed_records,
            },
            "statusSummary": summary,
        },
    }
    if kind is AlertKind.DELAY:
        event["threshold"] = {"delayMinutes": sub.delay_minutes}
    elif kind is AlertKind.ERROR_RATE:
        event["threshold"] = {"errorRatePercent": sub.error_rate_percent}
        event["errorRatePercent"] = round(error_rate_percent(facts), 6)
    body = {
        "event_id": event_id(facts.run_id, facts.attempt, kind),
        "event_code": str(kind),
        "subscriptionId": sub.id,
        "createdAt": created_ms,
        "event": event,
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True)
