"""Recording a run event for alerts: one INSERT, best effort, never failing the run.

The event is written only when the run's org and sandbox have an alert
subscription (the INSERT ... SELECT ... WHERE EXISTS finds the scope from the
run's row), so flows nobody watches cost one indexed lookup and no row.
"""

from __future__ import annotations

import logging

from sqlalchemy import Insert, exists, insert, literal, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from flowservice.alerts.facts import RunFacts
from flowservice.alerts.kinds import SUBSCRIPTION_KIND, Phase
from flowservice.store import db
from flowservice.store.db import now_ms
from flowservice.store.tables import AlertOutboxRow, Resource

log = logging.getLogger(__name__)


def record(sessions: sessionmaker[Session], phase: Phase, facts: RunFacts) -> None:
    """Queue ``facts`` for the alert dispatcher; errors are logged, never raised."""
    try:
        with db.transaction(sessions) as session:
            session.execute(_insert(phase, facts))
    except Exception as exc:
        # an alert is never worth a run: the run's own status is already saved
        log.warning("run %s: alert event not recorded (%s)", facts.run_id, type(exc).__name__)


def _insert(phase: Phase, facts: RunFacts) -> Insert:
    run = aliased(Resource)
    sub = aliased(Resource)
    watched = exists().where(
        sub.kind == SUBSCRIPTION_KIND,
        sub.org_id == run.org_id,
        sub.sandbox_id == run.sandbox_id,
    )
    rows = select(
        literal(facts.run_id),
        run.org_id,
        run.sandbox_id,
        literal(str(phase)),
        literal(facts.to_json()),
        literal(now_ms()),
    ).where(run.id == facts.run_id, watched)
    return insert(AlertOutboxRow).from_select(
        ["run_id", "org_id", "sandbox_id", "phase", "facts", "created_at"], rows
    )
