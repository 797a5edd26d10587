"""Alert subscriptions as the dispatcher reads them (rows of ``resources``), and their secrets."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from flowservice.alerts.facts import Subscription
from flowservice.alerts.kinds import SUBSCRIPTION_KIND
from flowservice.secrets import SecretBox
from flowservice.store.tables import Resource, Sandbox


def _of(row: Resource) -> Subscription:
    return Subscription.from_doc(
        id=row.id, org_id=row.org_id, sandbox_id=row.sandbox_id, doc=row.doc
    )


def in_scope(session: Session, *, org_id: str, sandbox_id: str) -> list[Subscription]:
    rows = session.scalars(
        select(Resource).where(
            Resource.kind == SUBSCRIPTION_KIND,
            Resource.org_id == org_id,
            Resource.sandbox_id == sandbox_id,
            Resource.state == "enabled",
        )
    )
    return [_of(row) for row in rows]


def all_enabled(session: Session) -> list[Subscription]:
    rows = session.scalars(
        select(Resource).where(Resource.kind == SUBSCRIPTION_KIND, Resource.state == "enabled")
    )
    return [_of(row) for row in rows]


def target_of(session: Session, box: SecretBox, subscription_id: str) -> tuple[str, str] | None:
    """The subscription's URL and signing secret, or None when it was deleted meanwhile."""
    row = session.get(Resource, subscription_id)
    if row is None or row.kind != SUBSCRIPTION_KIND or row.secret_doc is None:
        return None
    return str(row.doc["url"]), box.decrypt(row.secret_doc)


def sandbox_name(session: Session, sandbox_id: str) -> str:
    sandbox = session.get(Sandbox, sandbox_id)
    return "" if sandbox is None else sandbox.name
