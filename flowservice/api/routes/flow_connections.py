"""The five routes of /sourceConnections and /targetConnections, over each one's service."""

from __future__ import annotations

from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Header, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from flowservice.api import list_columns
from flowservice.api.deps import JsonBody, RuntimeDep, ScopeDep, WriteAccess
from flowservice.api.listing import ListParamsDep
from flowservice.api.patching import required_etag
from flowservice.api.request_bodies import JSON_PATCH_BODY, json_body
from flowservice.api.resource_pages import list_page
from flowservice.api.runtime import Runtime
from flowservice.api.schemas.common import CreatedOut, ItemsOut, PageOut
from flowservice.api.views import created
from flowservice.settings import API_PREFIX
from flowservice.store.repos import resource_lists, resources
from flowservice.store.repos.resources import Scope
from flowservice.store.tables import Resource


class ConnectionService(Protocol):
    """What ``services.source_connections`` and ``services.target_connections`` provide."""

    KIND: str
    FILTERABLE: frozenset[str]

    def create(self, session: Session, runtime: Runtime, scope: Scope, body: Any) -> Resource: ...

    def patch(
        self,
        session: Session,
        runtime: Runtime,
        scope: Scope,
        row: Resource,
        *,
        expected_etag: str,
        operations: Any,
    ) -> Resource: ...

    def delete(self, session: Session, scope: Scope, row: Resource) -> None: ...

    def to_wire(self, row: Resource, scope: Scope) -> dict[str, Any]: ...


def connection_router(
    service: ConnectionService,
    *,
    noun: str,
    create_model: type[BaseModel],
    parent_field: str | None = None,
) -> APIRouter:
    """Create, list, get, patch and delete of ``service.KIND`` (route names keep ``noun``).

    ``parent_field``: the wire path stored as the row's parent (lists filter it in SQL).
    """
    columns = list_columns.FLOW_CONNECTIONS[service.KIND]
    if parent_field is not None and columns[parent_field].field is not resource_lists.PARENT_ID:
        raise ValueError(f"{parent_field} of {service.KIND} is not stored as the row's parent")
    path = f"/{service.KIND}"
    snake = noun.replace(" ", "_")
    router = APIRouter(tags=[f"{noun.capitalize()}s"])

    @router.post(
        path,
        status_code=201,
        response_model=CreatedOut,
        summary=f"Create a {noun}",
        openapi_extra=json_body(create_model),
        name=f"create_{snake}",
    )
    def create(
        runtime: RuntimeDep,
        _caller: WriteAccess,
        scope: ScopeDep,
        body: JsonBody,
        response: Response,
    ) -> dict[str, str]:
        with runtime.transaction() as session:
            row = service.create(session, runtime, scope, body)
        response.headers["Location"] = f"{API_PREFIX}{path}/{row.id}"
        return created(row)

    @router.get(
        path,
        responses={200: {"model": PageOut, "description": f"A page of {noun}s, or {{count}}"}},
        summary=f"List {noun}s",
        name=f"list_{snake}s",
    )
    def list_all(runtime: RuntimeDep, scope: ScopeDep, params: ListParamsDep) -> dict[str, Any]:
        return list_page(
            runtime,
            scope,
            params,
            kind=service.KIND,
            filterable=service.FILTERABLE,
            columns=columns,
            path=path,
            to_wire=lambda _session, rows: [service.to_wire(row, scope) for row in rows],
        )

    @router.get(
        f"{path}/{{connection_id}}",
        response_model=ItemsOut,
        summary=f"Retrieve a {noun}",
        name=f"get_{snake}",
    )
    def get(connection_id: str, runtime: RuntimeDep, scope: ScopeDep) -> dict[str, Any]:
        with runtime.transaction() as session:
            row = resources.get_resource(
                session, scope=scope, kind=service.KIND, resource_id=connection_id
            )
            return {"items": [service.to_wire(row, scope)]}

    @router.patch(
        f"{path}/{{connection_id}}",
        response_model=CreatedOut,
        summary=f"Update a {noun} (JSON Patch, If-Match)",
        openapi_extra=JSON_PATCH_BODY,
        name=f"patch_{snake}",
    )
    def patch(
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
            row = service.patch(session, runtime, scope, row, expected_etag=etag, operations=body)
            return created(row)

    @router.delete(
        f"{path}/{{connection_id}}",
        status_code=204,
        summary=f"Delete a {noun}",
        name=f"delete_{snake}",
    )
    def delete(
        connection_id: str, runtime: RuntimeDep, _caller: WriteAccess, scope: ScopeDep
    ) -> Response:
        with runtime.transaction() as session:
            row = resources.get_resource(
                session, scope=scope, kind=service.KIND, resource_id=connection_id
            )
            service.delete(session, scope, row)
        return Response(status_code=204)

    return router
