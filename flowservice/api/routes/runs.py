"""/runs: list, get, create on demand, re-trigger and cancel."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from flowservice.api import list_columns
from flowservice.api.deps import JsonBody, RuntimeDep, ScopeDep, WriteAccess
from flowservice.api.listing import ListParamsDep
from flowservice.api.request_bodies import json_body
from flowservice.api.resource_pages import list_page
from flowservice.api.schemas.common import CreatedOut, ItemsOut, PageOut
from flowservice.api.schemas.runs import RunCreate, RunCreatedOut
from flowservice.api.services import runs as service
from flowservice.api.views import created
from flowservice.errors import InvalidRequest
from flowservice.flows.persistence.runs import to_us
from flowservice.settings import API_PREFIX
from flowservice.store.repos import resources

router = APIRouter(tags=["Runs"])


def _submit_if_due(request: Request, run_id: str, start_at_us: int, now_us: int) -> None:
    engine = request.app.state.flow_engine
    if engine is not None and start_at_us <= now_us:
        engine.submit(run_id)  # otherwise the scheduler loop submits it when due


@router.post(
    "/runs",
    status_code=201,
    response_model=RunCreatedOut,
    summary="Run a dataflow now",
    openapi_extra=json_body(RunCreate),
)
def create_run(
    request: Request,
    runtime: RuntimeDep,
    _caller: WriteAccess,
    scope: ScopeDep,
    body: JsonBody,
    response: Response,
) -> dict[str, Any]:
    now = service.utc_now()
    with runtime.transaction() as session:
        row = service.create_run(session, scope, body, now=now)
        # the run as created (scheduled), before a worker can move it on, with the
        # params it was asked for, as the on-demand tutorial's answer shows them
        item = service.to_wire(row, scope)
        if isinstance(body.get("params"), dict):
            item["params"] = body["params"]
        out: dict[str, Any] = {**created(row), "items": [item]}
    _submit_if_due(request, row.id, int(row.doc["startAtUs"]), to_us(now))
    response.headers["Location"] = f"{API_PREFIX}/runs/{row.id}"
    return out


@router.get(
    "/runs",
    responses={200: {"model": PageOut, "description": "A page of runs, or {count}"}},
    summary="List runs",
)
def list_runs(runtime: RuntimeDep, scope: ScopeDep, params: ListParamsDep) -> dict[str, Any]:
    return list_page(
        runtime,
        scope,
        params,
        kind=service.KIND,
        filterable=service.FILTERABLE,
        columns=list_columns.RUNS,
        path="/runs",
        to_wire=lambda _session, rows: [service.to_wire(row, scope) for row in rows],
    )


@router.get("/runs/{run_id}", response_model=ItemsOut, summary="Retrieve a run")
def get_run(run_id: str, runtime: RuntimeDep, scope: ScopeDep) -> dict[str, Any]:
    with runtime.transaction() as session:
        row = resources.get_resource(session, scope=scope, kind=service.KIND, resource_id=run_id)
        return {"items": [service.to_wire(row, scope)]}


@router.post("/runs/{run_id}/action", response_model=CreatedOut, summary="Re-trigger or cancel")
def run_action(
    run_id: str,
    request: Request,
    runtime: RuntimeDep,
    _caller: WriteAccess,
    scope: ScopeDep,
    op: Annotated[str, Query(description="re-trigger or cancel")],
) -> dict[str, str]:
    now = service.utc_now()
    engine = request.app.state.flow_engine
    with runtime.transaction() as session:
        row = resources.get_resource(session, scope=scope, kind=service.KIND, resource_id=run_id)
        if op == "re-trigger":
            row = service.retrigger(session, scope, row, now=now)
        elif op == "cancel":
            row, _run = service.cancel(session, row, now=now)
        else:
            raise InvalidRequest(f"op must be re-trigger or cancel, not {op!r}")
        out = created(row)
    if engine is not None:
        if op == "cancel":
            engine.executor.cancel(run_id)
        else:
            engine.submit(run_id)
    return out
