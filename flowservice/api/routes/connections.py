"""/connections: create, list, get, patch, delete base connections."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Response

from flowservice.api import list_columns
from flowservice.api.deps import JsonBody, RuntimeDep, ScopeDep, WriteAccess
from flowservice.api.listing import ListParamsDep
from flowservice.api.patching import required_etag
from flowservice.api.request_bodies import JSON_PATCH_BODY, json_body
from flowservice.api.resource_pages import list_page
from flowservice.api.schemas.common import CreatedOut, ItemsOut, PageOut
from flowservice.api.schemas.connections import ConnectionCreate
from flowservice.api.services import connections as service
from flowservice.api.views import created
from flowservice.settings import API_PREFIX
from flowservice.store.repos import resources

router = APIRouter(tags=["Connections"])


@router.post(
    "/connections",
    status_code=201,
    response_model=CreatedOut,
    summary="Create a base connection",
    openapi_extra=json_body(ConnectionCreate),
)
def create_connection(
    runtime: RuntimeDep, _caller: WriteAccess, scope: ScopeDep, body: JsonBody, response: Response
) -> dict[str, str]:
    with runtime.transaction() as session:
        row = service.create_connection(session, runtime, scope, body)
    response.headers["Location"] = f"{API_PREFIX}/connections/{row.id}"
    return created(row)


@router.get(
    "/connections",
    responses={200: {"model": PageOut, "description": "A page of connections, or {count}"}},
    summary="List base connections",
)
def list_connections(runtime: RuntimeDep, scope: ScopeDep, params: ListParamsDep) -> dict[str, Any]:
    return list_page(
        runtime,
        scope,
        params,
        kind=service.KIND,
        filterable=service.FILTERABLE,
        columns=list_columns.CONNECTIONS,
        path="/connections",
        to_wire=lambda _session, rows: [
            service.to_wire(row, scope, runtime.secret_box) for row in rows
        ],
    )


@router.get(
    "/connections/{connection_id}", response_model=ItemsOut, summary="Retrieve a base connection"
)
def get_connection(connection_id: str, runtime: RuntimeDep, scope: ScopeDep) -> dict[str, Any]:
    with runtime.transaction() as session:
        row = resources.get_resource(
            session, scope=scope, kind=service.KIND, resource_id=connection_id
        )
        return {"items": [service.to_wire(row, scope, runtime.secret_box)]}


@router.patch(
    "/connections/{connection_id}",
    response_model=CreatedOut,
    summary="Update a base connection (JSON Patch, If-Match)",
    openapi_extra=JSON_PATCH_BODY,
)
def patch_connection(
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
        row = service.patch_connection(
            session, runtime, scope, row, expected_etag=etag, operations=body
        )
        return created(row)


@router.delete("/connections/{connection_id}", status_code=204, summary="Delete a base connection")
def delete_connection(
    connection_id: str, runtime: RuntimeDep, _caller: WriteAccess, scope: ScopeDep
) -> Response:
    with runtime.transaction() as session:
        row = resources.get_resource(
            session, scope=scope, kind=service.KIND, resource_id=connection_id
        )
        service.delete_connection(session, scope, row)
    return Response(status_code=204)
