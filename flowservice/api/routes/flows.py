"""/flows: create, list, get, patch, enable/disable, delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response

from flowservice.api.deps import JsonBody, RuntimeDep, ScopeDep, WriteAccess
from flowservice.api.listing import ListParamsDep, select_page
from flowservice.api.patching import required_etag
from flowservice.api.schemas.common import CreatedOut, ItemsOut, JsonPatchOp, PageOut
from flowservice.api.schemas.flows import FlowCreate
from flowservice.api.services import flows as service
from flowservice.api.services import runs as run_service
from flowservice.api.views import created
from flowservice.settings import API_PREFIX
from flowservice.store.repos import resources

router = APIRouter(tags=["Dataflows"])

_CREATE_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": FlowCreate.model_json_schema(by_alias=True)}},
    }
}
_PATCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "array", "items": JsonPatchOp.model_json_schema()}
            }
        },
    }
}


@router.post(
    "/flows",
    status_code=201,
    response_model=CreatedOut,
    summary="Create a dataflow",
    openapi_extra=_CREATE_BODY,
)
def create_flow(
    runtime: RuntimeDep, _caller: WriteAccess, scope: ScopeDep, body: JsonBody, response: Response
) -> dict[str, str]:
    with runtime.transaction() as session:
        row = service.create_flow(session, scope, body)
    response.headers["Location"] = f"{API_PREFIX}/flows/{row.id}"
    return created(row)


@router.get(
    "/flows",
    responses={200: {"model": PageOut, "description": "A page of dataflows, or {count}"}},
    summary="List dataflows",
)
def list_flows(runtime: RuntimeDep, scope: ScopeDep, params: ListParamsDep) -> dict[str, Any]:
    settings = runtime.settings
    query = params.parse(
        kind=service.KIND,
        default_limit=settings.default_page_size,
        max_limit=settings.max_page_size,
        filterable=service.FILTERABLE,
    )
    with runtime.transaction() as session:
        rows = resources.list_resources(
            session,
            scope=scope,
            kind=service.KIND,
            ids=query.equals("id"),
            spec_ids=query.equals("flowSpec.id"),
        )
        last = service.last_runs(session, scope, [r.id for r in rows])
        items = [service.to_wire(session, r, scope, last.get(r.id)) for r in rows]
    return select_page(items, query, path="/flows")


@router.get("/flows/{flow_id}", response_model=ItemsOut, summary="Retrieve a dataflow")
def get_flow(flow_id: str, runtime: RuntimeDep, scope: ScopeDep) -> dict[str, Any]:
    with runtime.transaction() as session:
        row = resources.get_resource(session, scope=scope, kind=service.KIND, resource_id=flow_id)
        last = service.last_runs(session, scope, [row.id])
        return {"items": [service.to_wire(session, row, scope, last.get(row.id))]}


@router.patch(
    "/flows/{flow_id}",
    response_model=CreatedOut,
    summary="Update a dataflow's name, schedule, transformations (JSON Patch, If-Match)",
    openapi_extra=_PATCH_BODY,
)
def patch_flow(
    flow_id: str,
    runtime: RuntimeDep,
    _caller: WriteAccess,
    scope: ScopeDep,
    body: JsonBody,
    if_match: Annotated[str | None, Header(description="The etag from the last read")] = None,
) -> dict[str, str]:
    etag = required_etag(if_match)
    with runtime.transaction() as session:
        row = resources.get_resource(session, scope=scope, kind=service.KIND, resource_id=flow_id)
        row = service.patch_flow(session, scope, row, expected_etag=etag, operations=body)
        return created(row)


@router.post(
    "/flows/{flow_id}/action", response_model=CreatedOut, summary="Enable or disable a dataflow"
)
def flow_action(
    flow_id: str,
    runtime: RuntimeDep,
    _caller: WriteAccess,
    scope: ScopeDep,
    op: Annotated[str, Query(description="enable or disable")],
) -> dict[str, str]:
    with runtime.transaction() as session:
        row = resources.get_resource(session, scope=scope, kind=service.KIND, resource_id=flow_id)
        row = service.set_state(session, scope, row, op)
        return created(row)


@router.delete("/flows/{flow_id}", status_code=204, summary="Delete a dataflow")
def delete_flow(
    flow_id: str, request: Request, runtime: RuntimeDep, _caller: WriteAccess, scope: ScopeDep
) -> Response:
    now = run_service.utc_now()
    with runtime.transaction() as session:
        row = resources.get_resource(session, scope=scope, kind=service.KIND, resource_id=flow_id)
        active = service.delete_flow(session, scope, row)
        for run_id in active:
            run_row = resources.get_resource(
                session, scope=scope, kind=run_service.KIND, resource_id=run_id
            )
            run_service.cancel(session, run_row, now=now)
    engine = request.app.state.flow_engine
    if engine is not None:
        for run_id in active:
            engine.executor.cancel(run_id)
    return Response(status_code=204)
