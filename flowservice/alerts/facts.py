"""What an alert knows about a run, and a subscription as the dispatcher reads it.

Plain data: the run engine builds ``RunFacts`` from its ``Run`` (``flows``
imports this package, never the reverse).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from flowservice.alerts.kinds import (
    DEFAULT_DELAY_MINUTES,
    DEFAULT_ERROR_RATE_PERCENT,
    AlertKind,
)


@dataclass(frozen=True)
class RunFacts:
    run_id: str
    flow_id: str
    status: str
    attempt: int
    started_at_ms: int | None = None
    completed_at_ms: int | None = None
    input_records: int = 0
    output_records: int = 0
    failed_records: int = 0
    error_code: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> RunFacts:
        return cls(**json.loads(text))


@dataclass(frozen=True)
class ScopedRun:
    """A run with the org and sandbox it belongs to (for the delay check)."""

    org_id: str
    sandbox_id: str
    facts: RunFacts


@dataclass(frozen=True)
class Subscription:
    id: str
    org_id: str
    sandbox_id: str
    url: str
    kinds: frozenset[AlertKind]
    flow_ids: frozenset[str] | None = None
    delay_minutes: float = DEFAULT_DELAY_MINUTES
    error_rate_percent: float = DEFAULT_ERROR_RATE_PERCENT

    def watches(self, flow_id: str) -> bool:
        return self.flow_ids is None or flow_id in self.flow_ids

    @classmethod
    def from_doc(
        cls, *, id: str, org_id: str, sandbox_id: str, doc: dict[str, Any]
    ) -> Subscription:
        flows = doc.get("flowIds")
        return cls(
            id=id,
            org_id=org_id,
            sandbox_id=sandbox_id,
            url=str(doc["url"]),
            kinds=frozenset(AlertKind(k) for k in doc.get("kinds", [])),
            flow_ids=None if flows is None else frozenset(flows),
            delay_minutes=float(doc.get("delayMinutes", DEFAULT_DELAY_MINUTES)),
            error_rate_percent=float(doc.get("errorRatePercent", DEFAULT_ERROR_RATE_PERCENT)),
        )
