"""Runs: on-demand creation, re-trigger and cancel, and the wire shape.

The engine that executes runs lives in ``flowservice.flows.engine``; the app
starts it in its lifespan (``Settings.scheduler_enabled``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from flowservice.api.patching import quote_etag
from flowservice.errors import Conflict, InvalidRequest, NotFound, ValidationFailed
from flowservice.flows import run_log
from flowservice.flows.flow_definition import check_delta_column, declared_columns
from flowservice.flows.persistence import run_windows, runs
from flowservice.flows.persistence.schedules import new_run
from flowservice.flows.run_context import SOURCE_CONNECTION_KIND
from flowservice.flows.run_json import run_to_json
from flowservice.flows.run_request import parse_run_request
from flowservice.flows.run_state import RUN_STATE_CONFLICT, Run, RunStatus
from flowservice.flows.transformations import DeltaColumn, parse_transformations
from flowservice.store.repos import resources
from flowservice.store.repos.resources import Scope
from flowservice.store.tables import Resource

KIND = runs.RUN_KIND
FILTERABLE = frozenset(
    {
        "id",
        "flowId",
        "state",
        "flowSpec.id",
        "metrics.statusSummary.status",
        "metrics.durationSummary.startedAtUTC",
        "metrics.durationSummary.completedAtUTC",
        "metrics.recordSummary.inputRecordCount",
        "metrics.recordSummary.outputRecordCount",
        "metrics.recordSummary.failedRecordCount",
        "createdAt",
        "updatedAt",
    }
)


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_wire(row: Resource, scope: Scope) -> dict[str, Any]:
    run = runs.run_of(row)
    item = run_to_json(
        run, etag=quote_etag(row.etag), sandbox_name=scope.sandbox_name, ims_org_id=scope.org_id
    )
    # lists filter on ``state==`` as for flows; the documented field is statusSummary.status
    item["state"] = str(run.status)
    return item


def _require_enabled(flow: Resource) -> None:
    if flow.state != "enabled":
        raise Conflict(
            f"flow {flow.id} is {flow.state}; enable it first "
            f"(POST /flows/{flow.id}/action?op=enable) to run it",
            code=RUN_STATE_CONFLICT,
            resource_type=runs.FLOW_KIND,
            resource_id=flow.id,
        )


def _no_active_run(session: Session, scope: Scope, flow_id: str, except_id: str = "") -> None:
    for row in runs.runs_of_flows(session, scope=scope, flow_ids=[flow_id]):
        if row.id != except_id and row.state in runs.ACTIVE:
            raise Conflict(
                f"flow {flow_id} already has run {row.id} {row.state}; "
                "wait for it or cancel it first",
                code=RUN_STATE_CONFLICT,
                resource_type=KIND,
                resource_id=row.id,
            )


def create_run(session: Session, scope: Scope, body: Any, *, now: datetime) -> Resource:
    """``POST /runs`` ``{flowId, params}``: a ``scheduled`` run, started when due."""
    if not isinstance(body, dict):
        raise InvalidRequest("the request body must be a JSON object", code=1405)
    unknown = sorted(set(body) - {"flowId", "params"})
    if unknown:
        raise ValidationFailed(f"{unknown[0]} is not a field of a run request (flowId, params)")
    flow_id = body.get("flowId")
    if not isinstance(flow_id, str) or not flow_id:
        raise ValidationFailed("flowId is required")
    try:
        flow = resources.get_resource(
            session, scope=scope, kind=runs.FLOW_KIND, resource_id=flow_id
        )
    except NotFound:
        raise ValidationFailed(f"flowId {flow_id} is not a flow of this org and sandbox") from None
    _require_enabled(flow)
    transformations = parse_transformations(flow.doc.get("transformations"))
    request = parse_run_request(
        body.get("params"), flow_delta_column=transformations.delta_column, now=now
    )
    _no_active_run(session, scope, flow.id)
    if request.window is not None:
        # an append-mode flow never copies a source row version twice (docs/flows.md)
        run_windows.check_window(session, scope=scope, flow_id=flow.id, window=request.window)
    if request.sets_flow_delta_column and request.delta_column is not None:
        flow = _set_delta_column(session, scope, flow, request.delta_column)
    run = new_run(flow, now=now, planned_window=request.window, schedule_end=None)
    return runs.insert_run(session, scope=scope, run=run, start_at=request.start_at)


def _set_delta_column(
    session: Session, scope: Scope, flow: Resource, delta_column: DeltaColumn
) -> Resource:
    """Store the delta column a flow's first on-demand run names, checked like a PATCH."""
    source_id = str(flow.doc["sourceConnectionIds"][0])
    source = resources.get_resource(
        session, scope=scope, kind=SOURCE_CONNECTION_KIND, resource_id=source_id
    )
    check_delta_column(
        delta_column,
        declared_columns(source.doc.get("params") or {}),
        source_id=source_id,
        where="params.deltaColumn.name",
    )
    doc = dict(flow.doc)
    transformations = parse_transformations(flow.doc.get("transformations"))
    doc["transformations"] = transformations.with_delta_column(delta_column).to_list()
    return resources.replace_resource(
        session,
        scope=scope,
        row=flow,
        expected_etag=None,
        doc=doc,
        name=flow.name,
        state=flow.state,
    )


def retrigger(session: Session, scope: Scope, row: Resource, *, now: datetime) -> Resource:
    run = runs.run_of(row)
    try:
        flow = resources.get_resource(
            session, scope=scope, kind=runs.FLOW_KIND, resource_id=run.flow_id
        )
    except NotFound:
        raise ValidationFailed(
            f"run {run.id} cannot run again: its flow {run.flow_id} was deleted"
        ) from None
    _require_enabled(flow)
    _no_active_run(session, scope, run.flow_id, except_id=run.id)
    run.retrigger(now)  # refuses a run that is not failed or cancelled
    if run.window is not None:
        run_windows.check_window(
            session, scope=scope, flow_id=run.flow_id, window=run.window, except_run=run.id
        )
    doc = dict(row.doc)
    doc["startAtUs"] = runs.to_us(now)
    previous = row.state
    row.doc = doc
    return runs.save_run(session, run=run, row=row, expected_state=previous)


def scheduled_runs(session: Session, scope: Scope, flow_id: str) -> list[Resource]:
    """The flow's runs waiting to start."""
    rows = runs.runs_of_flows(session, scope=scope, flow_ids=[flow_id])
    return [r for r in rows if r.state == str(RunStatus.SCHEDULED)]


def cancel(session: Session, row: Resource, *, now: datetime) -> tuple[Resource, Run]:
    """A ``scheduled`` run is cancelled here; an ``inProgress`` one by its worker (signalled)."""
    run = runs.run_of(row)
    if run.status is RunStatus.SCHEDULED:
        run.cancel(now)
        row = runs.save_run(session, run=run, row=row, expected_state=str(RunStatus.SCHEDULED))
        run_log.finished(run)
    elif run.status is RunStatus.IN_PROGRESS:
        runs.request_cancel(session, row=row)
    else:
        raise Conflict(
            f"run {run.id} is {run.status}; only scheduled or inProgress runs can be cancelled",
            code=RUN_STATE_CONFLICT,
            resource_type=KIND,
            resource_id=run.id,
        )
    return row, run
