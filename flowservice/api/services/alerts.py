"""Alert subscriptions: validate, seal the secret, show everything but the secret."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy.orm import Session

from flowservice.alerts import deliveries
from flowservice.alerts.kinds import SUBSCRIPTION_KIND
from flowservice.api.patching import apply_json_patch
from flowservice.api.schemas.alerts import AlertSubscriptionCreate
from flowservice.api.services.body_checks import parse_body
from flowservice.api.views import AUDIT_FILTERABLE, named_fields, version_fields
from flowservice.errors import ValidationFailed
from flowservice.secrets import SecretBox
from flowservice.store.repos import resources
from flowservice.store.repos.resources import Scope
from flowservice.store.tables import AlertDeliveryRow, Resource

KIND = SUBSCRIPTION_KIND
FLOW_KIND = "flows"
FILTERABLE = AUDIT_FILTERABLE | frozenset({"name", "state"})


def _doc(model: AlertSubscriptionCreate) -> dict[str, Any]:
    return {
        "description": model.description,
        "url": model.url,
        "kinds": [str(k) for k in model.kinds],
        "flowIds": model.flow_ids,
        "delayMinutes": model.delay_minutes,
        "errorRatePercent": model.error_rate_percent,
    }


def _check_flows(session: Session, scope: Scope, flow_ids: list[str] | None) -> None:
    if not flow_ids:
        return
    found = {
        r.id for r in resources.list_resources(session, scope=scope, kind=FLOW_KIND, ids=flow_ids)
    }
    missing = [f for f in flow_ids if f not in found]
    if missing:
        name = missing[0][:64]
        raise ValidationFailed(f"body.flowIds: {name} is not a flow of this org and sandbox")


def create(session: Session, box: SecretBox, scope: Scope, body: Any) -> tuple[Resource, str]:
    """The new row and its secret (the one time it is shown)."""
    model = parse_body(AlertSubscriptionCreate, body)
    _check_flows(session, scope, model.flow_ids)
    secret = (
        model.secret.get_secret_value() if model.secret is not None else secrets.token_urlsafe(32)
    )
    row = resources.insert_resource(
        session,
        scope=scope,
        kind=KIND,
        name=model.name,
        state=model.state,
        doc=_doc(model),
        secret_doc=box.encrypt(secret),
    )
    return row, secret


def to_wire(row: Resource, scope: Scope) -> dict[str, Any]:
    doc = row.doc
    item = named_fields(row, scope)
    item.update(
        url=doc["url"],
        kinds=doc["kinds"],
        delayMinutes=doc["delayMinutes"],
        errorRatePercent=doc["errorRatePercent"],
        state=row.state,
    )
    if doc.get("flowIds") is not None:
        item["flowIds"] = doc["flowIds"]
    item.update(version_fields(row))
    return item


def patch(
    session: Session,
    box: SecretBox,
    scope: Scope,
    row: Resource,
    *,
    expected_etag: str,
    operations: Any,
) -> Resource:
    """JSON Patch over the create body's fields; ``/secret`` may be set, never read."""
    view = {k: v for k, v in _doc_view(row).items() if v is not None}
    # a malformed patch is a 400 whatever the etag; then a stale etag is a 412
    model = parse_body(AlertSubscriptionCreate, apply_json_patch(view, operations))
    resources.check_etag(row, expected_etag)
    _check_flows(session, scope, model.flow_ids)
    sealed = row.secret_doc
    if model.secret is not None:
        sealed = box.encrypt(model.secret.get_secret_value())
    return resources.replace_resource(
        session,
        scope=scope,
        row=row,
        expected_etag=expected_etag,
        doc=_doc(model),
        name=model.name,
        state=model.state,
        secret_doc=sealed,
    )


def _doc_view(row: Resource) -> dict[str, Any]:
    doc = row.doc
    return {
        "name": row.name,
        "description": doc.get("description"),
        "url": doc["url"],
        "kinds": doc["kinds"],
        "flowIds": doc.get("flowIds"),
        "delayMinutes": doc["delayMinutes"],
        "errorRatePercent": doc["errorRatePercent"],
        "state": row.state,
    }


def delivery_to_wire(row: AlertDeliveryRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "eventId": row.event_id,
        "kind": row.kind,
        "runId": row.run_id,
        "status": row.status,
        "attempts": row.attempts,
        "lastStatusCode": row.last_status_code,
        "lastError": row.last_error,
        "nextAttemptAt": row.next_attempt_at,
        "deliveredAt": row.delivered_at,
        "createdAt": row.created_at,
    }


def deliveries_of(session: Session, row: Resource, *, limit: int) -> list[dict[str, Any]]:
    return [delivery_to_wire(d) for d in deliveries.of_subscription(session, row.id, limit=limit)]
