"""/flows: create, list, get, patch, enable/disable, delete, and verify a flow's copy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from sqlalchemy.orm import Session

from flowservice.api import list_columns
from flowservice.api.deps import JsonBody, RuntimeDep, ScopeDep, WriteAccess
from flowservice.api.listing import ListParamsDep
from flowservice.api.patching import required_etag
from flowservice.api.request_bodies import JSON_PATCH_BODY, json_body
from flowservice.api.resource_pages import list_page
from flowservice.api.schemas.common import CreatedOut, ItemsOut, PageOut
from flowservice.api.schemas.flows import FlowCreate
from flowservice.api.services import flow_verify
from flowservice.api.services import flows as service
from flowservice.api.services import runs as run_service
from flowservice.api.services.flow_operations import record_operation
from flowservice.api.views import created
from flowservice.flows.verify_limits import DEFAULT_SAMPLES, MAX_SAMPLES
from flowservice.settings import API_PREFIX
from flowservice.store.repos import resources
from flowservice.store.tables import Resource

router = APIRouter(tags=["Dataflows"])


@router.post(
    "/flows",
    status_code=201,
    response_model=CreatedOut,
    summary="Create a dataflow",
    openapi_extra=json_body(FlowCreate),
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
    def to_wire(session: Session, rows: Sequence[Resource]) -> list[dict[str, Any]]:
        last = service.last_runs(session, scope, [r.id for r in rows])
        return [service.to_wire(session, r, scope, last.get(r.id)) for r in rows]

    return list_page(
        runtime,
        scope,
        params,
        kind=service.KIND,
        filterable=service.FILTERABLE,
        columns=list_columns.FLOWS,
        path="/flows",
        to_wire=to_wire,
    )


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
    openapi_extra=JSON_PATCH_BODY,
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
        row = record_operation(session, scope, row, "update")
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
    now = run_service.utc_now()
    with runtime.transaction() as session:
        row = resources.get_resource(session, scope=scope, kind=service.KIND, resource_id=flow_id)
        row = service.set_state(session, scope, row, op)
        row = record_operation(session, scope, row, "enable" if op == "enable" else "disable")
        if row.state == "disabled":
            # a disabled flow starts no run: those waiting for their start time are cancelled
            # (a run already in progress finishes)
            for run_row in run_service.scheduled_runs(session, scope, flow_id):
                run_service.cancel(session, run_row, now=now)
        return created(row)


@router.post(
    "/flows/{flow_id}/verify",
    response_model=flow_verify.FlowVerifyOut,
    summary="Compare a dataflow's dataset with its source table, key by key",
)
def verify_flow(
    flow_id: str,
    runtime: RuntimeDep,
    scope: ScopeDep,
    samples: Annotated[
        int, Query(ge=0, le=MAX_SAMPLES, description="Keys listed per kind of difference")
    ] = DEFAULT_SAMPLES,
) -> dict[str, Any]:
    return flow_verify.verify_flow(runtime, scope, flow_id, samples=samples)


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
