"""/alerts/subscriptions: webhook alerts on flow runs (a flowservice extension)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response

from flowservice.api import list_columns
from flowservice.api.deps import JsonBody, RuntimeDep, ScopeDep, WriteAccess
from flowservice.api.list_plan import Column
from flowservice.api.listing import ListParamsDep
from flowservice.api.patching import required_etag
from flowservice.api.request_bodies import JSON_PATCH_BODY, json_body
from flowservice.api.resource_pages import list_page
from flowservice.api.schemas.alerts import (
    AlertDeliveriesOut,
    AlertSubscriptionCreate,
    AlertSubscriptionCreatedOut,
)
from flowservice.api.schemas.common import CreatedOut, ItemsOut, PageOut
from flowservice.api.services import alerts as service
from flowservice.api.views import created
from flowservice.settings import API_PREFIX
from flowservice.store.repos import resource_lists as stored
from flowservice.store.repos import resources

EXTENSION = (
    "A flowservice extension (Adobe's API has no such resource): alerts on flow runs "
    "delivered as signed webhooks; see docs/alerts.md."
)
PATH = "/alerts/subscriptions"
COLUMNS: dict[str, Column] = list_columns.AUDIT | {
    "name": Column(stored.NAME),
    "state": Column(stored.STATE),
}

router = APIRouter(tags=["Alerts (flowservice extension)"])


@router.post(
    PATH,
    status_code=201,
    response_model=AlertSubscriptionCreatedOut,
    summary="Subscribe a webhook to flow run alerts",
    description=EXTENSION + " The response holds the signing secret; it is never shown again.",
    openapi_extra=json_body(AlertSubscriptionCreate),
)
def create_subscription(
    runtime: RuntimeDep, _caller: WriteAccess, scope: ScopeDep, body: JsonBody, response: Response
) -> dict[str, str]:
    with runtime.transaction() as session:
        row, secret = service.create(session, runtime.secret_box, scope, body)
        out = {**created(row), "secret": secret}
    response.headers["Location"] = f"{API_PREFIX}{PATH}/{row.id}"
    response.headers["Cache-Control"] = "no-store"
    return out


@router.get(
    PATH,
    responses={200: {"model": PageOut, "description": "A page of subscriptions, or {count}"}},
    summary="List alert subscriptions",
    description=EXTENSION,
)
def list_subscriptions(
    runtime: RuntimeDep, scope: ScopeDep, params: ListParamsDep
) -> dict[str, Any]:
    return list_page(
        runtime,
        scope,
        params,
        kind=service.KIND,
        filterable=service.FILTERABLE,
        columns=COLUMNS,
        path=PATH,
        to_wire=lambda _session, rows: [service.to_wire(row, scope) for row in rows],
    )


@router.get(
    PATH + "/{subscription_id}",
    response_model=ItemsOut,
    summary="Retrieve an alert subscription",
    description=EXTENSION,
)
def get_subscription(subscription_id: str, runtime: RuntimeDep, scope: ScopeDep) -> dict[str, Any]:
    with runtime.transaction() as session:
        row = resources.get_resource(
            session, scope=scope, kind=service.KIND, resource_id=subscription_id
        )
        return {"items": [service.to_wire(row, scope)]}


@router.patch(
    PATH + "/{subscription_id}",
    response_model=CreatedOut,
    summary="Update an alert subscription (JSON Patch, If-Match)",
    description=EXTENSION + " `/secret` may be set (add or replace) to rotate the key.",
    openapi_extra=JSON_PATCH_BODY,
)
def patch_subscription(
    subscription_id: str,
    runtime: RuntimeDep,
    _caller: WriteAccess,
    scope: ScopeDep,
    body: JsonBody,
    if_match: Annotated[str | None, Header(description="The etag from the last read")] = None,
) -> dict[str, str]:
    etag = required_etag(if_match)
    with runtime.transaction() as session:
        row = resources.get_resource(
            session, scope=scope, kind=service.KIND, resource_id=subscription_id
        )
        row = service.patch(
            session, runtime.secret_box, scope, row, expected_etag=etag, operations=body
        )
        return created(row)


@router.delete(
    PATH + "/{subscription_id}",
    status_code=204,
    summary="Delete an alert subscription and its delivery log",
    description=EXTENSION,
)
def delete_subscription(
    subscription_id: str, runtime: RuntimeDep, _caller: WriteAccess, scope: ScopeDep
) -> Response:
    with runtime.transaction() as session:
        row = resources.get_resource(
            session, scope=scope, kind=service.KIND, resource_id=subscription_id
        )
        resources.delete_resource(session, row=row)
    return Response(status_code=204)


@router.get(
    PATH + "/{subscription_id}/deliveries",
    response_model=AlertDeliveriesOut,
    summary="The subscription's webhook deliveries, newest first",
    description=EXTENSION,
)
def list_deliveries(
    subscription_id: str,
    runtime: RuntimeDep,
    scope: ScopeDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many")] = 100,
) -> dict[str, Any]:
    with runtime.transaction() as session:
        row = resources.get_resource(
            session, scope=scope, kind=service.KIND, resource_id=subscription_id
        )
        return {"items": service.deliveries_of(session, row, limit=limit)}
