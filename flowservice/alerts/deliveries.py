"""Alert deliveries in the metadata DB: fan-out from the outbox, claims, results, reports.

Every step is safe with several dispatching processes: an outbox row is
fanned out by whoever deletes it, a delivery is sent by whoever moves its
``claimed_until`` forward (a compare-and-set), and ``(subscription, event)``
is unique.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from flowservice.alerts import rules, subscriptions
from flowservice.alerts.facts import RunFacts, Subscription
from flowservice.alerts.kinds import AlertKind, DeliveryStatus, Phase
from flowservice.store.tables import AlertDeliveryRow, AlertOutboxRow


@dataclass(frozen=True)
class Due:
    """A claimed delivery, ready to send."""

    id: str
    subscription_id: str
    event_id: str
    kind: str
    body: str
    attempts: int
    give_up_at: int


def add(
    session: Session,
    *,
    sub: Subscription,
    kind: AlertKind,
    facts: RunFacts,
    sandbox_name: str,
    now_ms: int,
    retry_window_ms: int,
) -> bool:
    """A pending delivery of this alert to ``sub``, unless it exists already."""
    event_id = rules.event_id(facts.run_id, facts.attempt, kind)
    exists = session.scalar(
        select(AlertDeliveryRow.id).where(
            AlertDeliveryRow.subscription_id == sub.id, AlertDeliveryRow.event_id == event_id
        )
    )
    if exists is not None:
        return False
    body = rules.payload(
        kind=kind, sub=sub, facts=facts, sandbox_name=sandbox_name, created_ms=now_ms
    )
    row = AlertDeliveryRow(
        id=str(uuid.uuid4()),
        subscription_id=sub.id,
        event_id=event_id,
        kind=str(kind),
        run_id=facts.run_id,
        body=body,
        status=str(DeliveryStatus.PENDING),
        attempts=0,
        next_attempt_at=now_ms,
        claimed_until=0,
        give_up_at=now_ms + retry_window_ms,
        created_at=now_ms,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return False  # another process added it at the same moment
    return True


def fan_out(session: Session, *, now_ms: int, retry_window_ms: int, limit: int = 100) -> int:
    """Turn outbox rows into deliveries; returns how many deliveries were added."""
    added = 0
    rows = session.scalars(select(AlertOutboxRow).order_by(AlertOutboxRow.id).limit(limit))
    for row in list(rows):
        taken = session.execute(delete(AlertOutboxRow).where(AlertOutboxRow.id == row.id))
        if getattr(taken, "rowcount", 1) != 1:
            continue  # another dispatcher took it
        facts, phase = RunFacts.from_json(row.facts), Phase(row.phase)
        name = subscriptions.sandbox_name(session, row.sandbox_id)
        for sub in subscriptions.in_scope(session, org_id=row.org_id, sandbox_id=row.sandbox_id):
            for kind in rules.alerts_for(sub, phase, facts):
                added += add(
                    session,
                    sub=sub,
                    kind=kind,
                    facts=facts,
                    sandbox_name=name,
                    now_ms=now_ms,
                    retry_window_ms=retry_window_ms,
                )
    return added


def claim_due(session: Session, *, now_ms: int, hold_ms: int, limit: int = 20) -> list[Due]:
    """Pending deliveries whose time has come, each claimed for ``hold_ms``."""
    candidates = session.scalars(
        select(AlertDeliveryRow)
        .where(
            AlertDeliveryRow.status == str(DeliveryStatus.PENDING),
            AlertDeliveryRow.next_attempt_at <= now_ms,
            AlertDeliveryRow.claimed_until < now_ms,
        )
        .order_by(AlertDeliveryRow.next_attempt_at)
        .limit(limit)
    ).all()
    claimed: list[Due] = []
    for row in candidates:
        done = session.execute(
            update(AlertDeliveryRow)
            .where(
                AlertDeliveryRow.id == row.id,
                AlertDeliveryRow.claimed_until == row.claimed_until,
                AlertDeliveryRow.status == str(DeliveryStatus.PENDING),
            )
            .values(claimed_until=now_ms + hold_ms)
            .execution_options(synchronize_session=False)
        )
        if getattr(done, "rowcount", 1) == 1:
            claimed.append(
                Due(
                    row.id,
                    row.subscription_id,
                    row.event_id,
                    row.kind,
                    row.body,
                    row.attempts,
                    row.give_up_at,
                )
            )
    return claimed


def record_attempt(
    session: Session,
    due: Due,
    *,
    now_ms: int,
    status_code: int | None,
    error: str | None,
    next_attempt_at: int | None,
) -> None:
    """The outcome of one attempt: delivered on a 2xx, else pending until the next or failed."""
    delivered = status_code is not None and 200 <= status_code < 300
    if delivered:
        status = DeliveryStatus.DELIVERED
    elif next_attempt_at is None:
        status = DeliveryStatus.FAILED
    else:
        status = DeliveryStatus.PENDING
    session.execute(
        update(AlertDeliveryRow)
        .where(AlertDeliveryRow.id == due.id)
        .values(
            status=str(status),
            attempts=due.attempts + 1,
            last_status_code=status_code,
            last_error=None if error is None else error[:255],
            next_attempt_at=None if status is not DeliveryStatus.PENDING else next_attempt_at,
            delivered_at=now_ms if delivered else None,
            claimed_until=0,
        )
        .execution_options(synchronize_session=False)
    )


def prune(session: Session, *, before_ms: int) -> int:
    """Forget delivered and failed alerts raised before ``before_ms``; returns how many."""
    done = session.execute(
        delete(AlertDeliveryRow).where(
            AlertDeliveryRow.status != str(DeliveryStatus.PENDING),
            AlertDeliveryRow.created_at < before_ms,
        )
    )
    return int(getattr(done, "rowcount", 0) or 0)


def of_subscription(
    session: Session, subscription_id: str, *, limit: int
) -> list[AlertDeliveryRow]:
    """The subscription's latest deliveries, newest first."""
    return list(
        session.scalars(
            select(AlertDeliveryRow)
            .where(AlertDeliveryRow.subscription_id == subscription_id)
            .order_by(AlertDeliveryRow.created_at.desc(), AlertDeliveryRow.id.desc())
            .limit(limit)
        )
    )


def delivery_counts(session: Session) -> dict[str, int]:
    """Deliveries of every org by outcome: ``delivered``, ``failed``, ``pending`` (all present)."""
    counts = {str(status): 0 for status in DeliveryStatus}
    rows = session.execute(
        select(AlertDeliveryRow.status, func.count()).group_by(AlertDeliveryRow.status)
    )
    for status, count in rows:
        counts[str(status)] = int(count)
    return counts
