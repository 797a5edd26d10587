"""/targetConnections: create, list, get, patch, delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Response

from flowservice.api.deps import JsonBody, RuntimeDep, ScopeDep, WriteAccess
from flowservice.api.listing import ListParamsDep
from flowservice.api.patching import required_etag
from flowservice.api.request_bodies import JSON_PATCH_BODY, json_body
from flowservice.api.resource_pages import list_page
from flowservice.api.schemas.common import CreatedOut, ItemsOut, PageOut
from flowservice.api.schemas.target_connections import TargetConnectionCreate
from flowservice.api.services import target_connections as service
from flowservice.api.views import created
from flowservice.settings import API_PREFIX
from flowservice.store.repos import resources

router = APIRouter(tags=["Target connections"])


@router.post(
    "/targetConnections",
    status_code=201,
    response_model=CreatedOut,
    summary="Create a target connection",
    openapi_extra=json_body(TargetConnectionCreate),
)
def create_target_connection(
    runtime: RuntimeDep, _caller: WriteAccess, scope: ScopeDep, body: JsonBody, response: Response
) -> dict[str, str]:
    with runtime.transaction() as session:
        row = service.create_target_connection(session, runtime, scope, body)
    response.headers["Location"] = f"{API_PREFIX}/targetConnections/{row.id}"
    return created(row)


@router.get(
    "/targetConnections",
    responses={200: {"model": PageOut, "description": "A page of target connections, or {count}"}},
    summary="List target connections",
)
def list_target_connections(
    runtime: RuntimeDep, scope: ScopeDep, params: ListParamsDep
) -> dict[str, Any]:
    return list_page(
        runtime,
        scope,
        params,
        kind=service.KIND,
        filterable=service.FILTERABLE,
        path="/targetConnections",
        spec_field="connectionSpec.id",
        to_wire=lambda _session, rows: [service.to_wire(row, scope) for row in rows],
    )


@router.get(
    "/targetConnections/{connection_id}",
    response_model=ItemsOut,
    summary="Retrieve a target connection",
)
def get_target_connection(
    connection_id: str, runtime: RuntimeDep, scope: ScopeDep
) -> dict[str, Any]:
    with runtime.transaction() as session:
        row = resources.get_resource(
            session, scope=scope, kind=service.KIND, resource_id=connection_id
        )
        return {"items": [service.to_wire(row, scope)]}


@router.patch(
    "/targetConnections/{connection_id}",
    response_model=CreatedOut,
    summary="Update a target connection (JSON Patch, If-Match)",
    openapi_extra=JSON_PATCH_BODY,
)
def patch_target_connection(
    connection_id: str,
    runtime: RuntimeDep,
    _caller: WriteAccess,
    scope: ScopeDep,
    body: JsonBody,
    if_match: Annotated[str | None, Header(description="The etag from the last read")] = None,
) -> dict[str, str]:
    etag = required_etag(if_match)
    with runtime.transaction() as session:
        row = resources.get_resource(
            session, scope=scope, kind=service.KIND, resource_id=connection_id
        )
        row = service.patch_target_connection(
            session, runtime, scope, row, expected_etag=etag, operations=body
        )
        return created(row)


@router.delete(
    "/targetConnections/{connection_id}", status_code=204, summary="Delete a target connection"
)
def delete_target_connection(
    connection_id: str, runtime: RuntimeDep, _caller: WriteAccess, scope: ScopeDep
) -> Response:
    with runtime.transaction() as session:
        row = resources.get_resource(
            session, scope=scope, kind=service.KIND, resource_id=connection_id
        )
        service.delete_target_connection(session, scope, row)
    return Response(status_code=204)
