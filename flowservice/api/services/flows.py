"""Dataflows: validate against the flow spec and the sandbox's connections, store, show."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from flowservice.api.patching import apply_json_patch
from flowservice.api.services.flow_mapping_check import check_mapping_columns
from flowservice.api.services.flow_operations import last_operation
from flowservice.api.views import AUDIT_FILTERABLE, named_fields, version_fields
from flowservice.errors import InvalidRequest, NotFound, ValidationFailed
from flowservice.flows.flow_definition import (
    FlowDefinition,
    check_delta_column,
    check_patch_paths,
    declared_columns,
    parse_flow,
)
from flowservice.flows.flow_spec import flow_specs
from flowservice.flows.persistence import runs
from flowservice.flows.run_state import Run
from flowservice.flows.schedule import to_epoch_ms
from flowservice.settings import API_PREFIX
from flowservice.store.repos import resource_lists, resources
from flowservice.store.repos.resources import Scope
from flowservice.store.tables import Resource

KIND = runs.FLOW_KIND
SOURCE_KIND, TARGET_KIND = "sourceConnections", "targetConnections"
MAPPING_KIND = "mappingSets"
STATES = ("enabled", "disabled")
FILTERABLE = AUDIT_FILTERABLE | frozenset(
    {
        "name",
        "description",
        "state",
        "flowSpec.id",
        "flowSpec.version",
        "sourceConnectionIds[]",
        "targetConnectionIds[]",
        "scheduleParams.frequency",
        "scheduleParams.interval",
        "scheduleParams.startTime",
        "lastRunDetails.id",
        "lastRunDetails.state",
        "lastRunDetails.startedAtUTC",
        "lastRunDetails.completedAtUTC",
    }
)


def _connection(session: Session, scope: Scope, kind: str, field: str, cid: str) -> Resource:
    try:
        return resources.get_resource(session, scope=scope, kind=kind, resource_id=cid)
    except NotFound:
        raise ValidationFailed(
            f"{field} {cid} is not a {kind[:-1]} of this org and sandbox"
        ) from None


def check_references(session: Session, scope: Scope, flow: FlowDefinition) -> None:
    """The connections exist in the sandbox and fit the spec and delta column; so does a mapping."""
    for cid in flow.source_connection_ids:
        row = _connection(session, scope, SOURCE_KIND, "sourceConnectionIds", cid)
        flow.flow_spec.check_source(str(row.spec_id))
        check_delta_column(
            flow.transformations.delta_column,
            declared_columns(row.doc.get("params") or {}),
            source_id=cid,
        )
    for cid in flow.target_connection_ids:
        row = _connection(session, scope, TARGET_KIND, "targetConnectionIds", cid)
        flow.flow_spec.check_target(str(row.spec_id))
    mapping = flow.transformations.mapping
    if mapping is not None:
        try:
            resources.get_resource(
                session, scope=scope, kind=MAPPING_KIND, resource_id=mapping.mapping_id
            )
        except NotFound:
            raise ValidationFailed(
                f"transformations: mapping set {mapping.mapping_id} is not found in this org "
                "and sandbox"
            ) from None
        check_mapping_columns(session, scope, flow)


def _doc(flow: FlowDefinition) -> dict[str, Any]:
    doc = flow.to_json()
    doc.pop("name")
    return doc


def create_flow(session: Session, scope: Scope, body: Any) -> Resource:
    flow = parse_flow(body, flow_specs())
    check_references(session, scope, flow)
    return resources.insert_resource(
        session,
        scope=scope,
        kind=KIND,
        name=flow.name,
        state="enabled",
        spec_id=flow.flow_spec.id,
        doc=_doc(flow),
    )


def _view(row: Resource) -> dict[str, Any]:
    """The flow as PATCH operations see it."""
    view = {"name": row.name, **row.doc}
    return view


def patch_flow(
    session: Session, scope: Scope, row: Resource, *, expected_etag: str, operations: Any
) -> Resource:
    resources.check_etag(row, expected_etag)
    if isinstance(operations, list):
        check_patch_paths([op for op in operations if isinstance(op, dict)])
    patched = apply_json_patch(_view(row), operations)
    flow = parse_flow(patched, flow_specs(), creating=False)
    check_references(session, scope, flow)
    return resources.replace_resource(
        session,
        scope=scope,
        row=row,
        expected_etag=expected_etag,
        doc=_doc(flow),
        name=flow.name,
        state=row.state,
    )


def set_state(session: Session, scope: Scope, row: Resource, op: str) -> Resource:
    """``op=enable|disable``; doing it twice is harmless."""
    if op not in ("enable", "disable"):
        raise InvalidRequest(f"op must be enable or disable, not {op!r}")
    state = "enabled" if op == "enable" else "disabled"
    return resources.replace_resource(
        session, scope=scope, row=row, expected_etag=None, doc=row.doc, name=row.name, state=state
    )


def last_runs(session: Session, scope: Scope, flow_ids: list[str]) -> dict[str, Run]:
    """The newest run of each flow, from its runs of the newest millisecond (no history read)."""
    latest: dict[str, Run] = {}
    newest = resource_lists.newest_children(
        session, scope=scope, kind=runs.RUN_KIND, parent_ids=flow_ids
    )
    for row in newest:
        run = runs.run_of(row)
        held = latest.get(run.flow_id)
        if held is None or (run.created_at, run.id) > (held.created_at, held.id):
            latest[run.flow_id] = run
    return latest


def _inherited(session: Session, scope: Scope, kind: str, ids: list[str]) -> list[dict[str, Any]]:
    out = []
    for cid in ids:
        entry: dict[str, Any] = {"id": cid}
        try:
            row = resources.get_resource(session, scope=scope, kind=kind, resource_id=cid)
        except NotFound:
            out.append(entry)
            continue
        entry["connectionSpec"] = row.doc.get("connectionSpec")
        if row.doc.get("baseConnectionId"):
            entry["baseConnection"] = {
                "id": row.doc["baseConnectionId"],
                "connectionSpec": row.doc.get("baseConnectionSpec"),
            }
        out.append(entry)
    return out


def to_wire(session: Session, row: Resource, scope: Scope, last_run: Run | None) -> dict[str, Any]:
    doc = row.doc
    item: dict[str, Any] = named_fields(row, scope)
    item["flowSpec"] = doc["flowSpec"]
    item["state"] = row.state
    item["sourceConnectionIds"] = doc["sourceConnectionIds"]
    item["targetConnectionIds"] = doc["targetConnectionIds"]
    item["inheritedAttributes"] = {
        "sourceConnections": _inherited(session, scope, SOURCE_KIND, doc["sourceConnectionIds"]),
        "targetConnections": _inherited(session, scope, TARGET_KIND, doc["targetConnectionIds"]),
    }
    item["scheduleParams"] = doc["scheduleParams"]
    item["transformations"] = doc["transformations"]
    item["options"] = doc.get("options", {})
    item["runs"] = f"{API_PREFIX}/runs?property=flowId=={row.id}"
    if last_run is not None:
        details: dict[str, Any] = {"id": last_run.id, "state": str(last_run.status)}
        if last_run.started_at is not None:
            details["startedAtUTC"] = to_epoch_ms(last_run.started_at)
        if last_run.completed_at is not None:
            details["completedAtUTC"] = to_epoch_ms(last_run.completed_at)
        item["lastRunDetails"] = details
    item["lastOperation"] = last_operation(row)
    item.update(version_fields(row))
    return item


def delete_flow(session: Session, scope: Scope, row: Resource) -> list[str]:
    """Delete the flow and its watermark; returns its active runs' ids for the caller to cancel."""
    active = [
        r.id
        for r in runs.runs_of_flows(session, scope=scope, flow_ids=[row.id])
        if r.state in runs.ACTIVE
    ]
    runs.forget_watermark(session, row.id)
    resources.delete_resource(session, row=row)
    return active
