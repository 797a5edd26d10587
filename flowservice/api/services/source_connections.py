"""Source connections: which table of a base connection a dataflow reads.

With ``params.cdcEnabled: true`` the dataflow copies the table's changes, so
creating the source connection (or a PATCH turning it on or changing the
table) first asks the connector whether changes can be read, and answers 400
naming what to change at the source.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from flowservice.api.connector_lookup import find_connector
from flowservice.api.runtime import Runtime
from flowservice.api.schemas.source_connections import SourceConnectionCreate
from flowservice.api.services import connections
from flowservice.api.services.body_checks import (
    base_connection,
    check_params,
    connection_spec,
    parse_body,
    patched_connection,
)
from flowservice.api.services.flow_usage import delete_unless_used
from flowservice.api.views import AUDIT_FILTERABLE, named_fields, version_fields
from flowservice.connectors.base import ChangeTrackingUnavailable
from flowservice.errors import FlowServiceError, InvalidRequest, NotFound, ValidationFailed
from flowservice.secrets import redact
from flowservice.specs.catalog import ConnectionSpec
from flowservice.store.repos import resources
from flowservice.store.repos.resources import Scope
from flowservice.store.tables import Resource

KIND = "sourceConnections"
FILTERABLE = AUDIT_FILTERABLE | frozenset(
    {
        "name",
        "description",
        "state",
        "baseConnectionId",
        "connectionSpec.id",
        "connectionSpec.version",
        "data.format",
        "params.tableName",
        "params.columns[].name",
    }
)


def parse_model(body: Any) -> SourceConnectionCreate:
    return parse_body(SourceConnectionCreate, body)


def source_spec(runtime: Runtime, spec_id: str, version: str | None) -> ConnectionSpec:
    spec = connection_spec(runtime, spec_id, version)
    if not spec.is_source or not isinstance(spec.doc.get("sourceSpec"), dict):
        raise InvalidRequest(f"Connection spec {spec_id} ({spec.name}) is not a source.", code=1100)
    return spec


def normalised_params(spec: ConnectionSpec, params: dict[str, Any]) -> dict[str, Any]:
    """``path`` (older docs) is read as ``tableName``; then the spec's JSON Schema applies."""
    out = dict(params)
    if "path" in out:
        path = out.pop("path")
        if "tableName" in out and out["tableName"] != path:
            raise ValidationFailed("params.path and params.tableName disagree; send tableName.")
        out["tableName"] = path
    check_params(spec.doc["sourceSpec"].get("spec") or {}, out)
    if isinstance(out.get("tableName"), str) and not out["tableName"].strip():
        raise ValidationFailed("params.tableName must not be empty")
    names = [str(c.get("name", "")).lower() for c in out.get("columns") or ()]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValidationFailed(f"params.columns names repeat: {', '.join(duplicates)}")
    return out


def _checked_format(spec: ConnectionSpec, data_format: str) -> str:
    if (
        str(spec.doc["sourceSpec"].get("type", "")).lower() == "tabular"
        and data_format != "tabular"
    ):
        raise ValidationFailed(
            f"data.format must be 'tabular' for {spec.name} sources, not {data_format!r}."
        )
    return data_format


def _doc(model: SourceConnectionCreate, spec: ConnectionSpec, base: Resource) -> dict[str, Any]:
    return {
        "description": model.description,
        "baseConnectionId": base.id,
        "data": {"format": _checked_format(spec, model.data.format)},
        "params": normalised_params(spec, model.params),
        "connectionSpec": {"id": spec.id, "version": spec.version},
        "providerRefId": spec.doc.get("providerId"),
        "baseConnectionSpec": base.doc["connectionSpec"],
    }


def _tracks_changes(params: dict[str, Any]) -> bool:
    return params.get("cdcEnabled") is True


def _change_tracking_target(params: dict[str, Any]) -> tuple[Any, Any]:
    """What a change tracking check depends on: the table and the columns copied."""
    return params.get("tableName"), params.get("columns")


def check_change_tracking(runtime: Runtime, base: Resource, params: dict[str, Any]) -> None:
    """ValidationFailed unless the base connection's source can read the table's changes.

    Failures to reach the source are not the request's fault: they propagate as
    the connector raised them (secrets redacted), as explore does.
    """
    table = str(params["tableName"])
    cls = find_connector(str(base.spec_id))
    if cls is None:
        raise ValidationFailed(
            f"params.cdcEnabled: no connector is installed for connection spec {base.spec_id}, "
            "so change tracking cannot be checked."
        )
    secrets = [str(v) for v in connections.secret_params(base, runtime.secret_box).values()]
    columns = [str(c["name"]) for c in params["columns"]] if params.get("columns") else None
    try:
        connector = cls(connections.auth_params(base, runtime.secret_box))
        connector.require_change_tracking(table, columns=columns)
    except ChangeTrackingUnavailable as exc:
        raise ValidationFailed(
            f"params.cdcEnabled: {redact(exc.message, secrets)}",
            resource_type="table",
            resource_id=exc.resource_id,
        ) from None
    except NotFound as exc:
        raise ValidationFailed(
            f"params.tableName: {redact(exc.message, secrets)}",
            resource_type="table",
            resource_id=exc.resource_id,
        ) from None
    except FlowServiceError as exc:
        exc.message = redact(exc.message, secrets)
        exc.args = (exc.message,)
        raise


def create(session: Session, runtime: Runtime, scope: Scope, body: Any) -> Resource:
    model = parse_model(body)
    spec = source_spec(runtime, model.connection_spec.id, model.connection_spec.version)
    base = base_connection(session, scope, model.base_connection_id, spec)
    doc = _doc(model, spec, base)
    if _tracks_changes(doc["params"]):
        check_change_tracking(runtime, base, doc["params"])
    return resources.insert_resource(
        session,
        scope=scope,
        kind=KIND,
        name=model.name,
        state="enabled",
        spec_id=spec.id,
        parent_id=base.id,  # base connection deletes refuse (1418) while this row exists
        doc=doc,
    )


def to_wire(row: Resource, scope: Scope) -> dict[str, Any]:
    doc = row.doc
    item: dict[str, Any] = named_fields(row, scope)
    item["baseConnectionId"] = doc["baseConnectionId"]
    item["state"] = row.state
    item["data"] = doc["data"]
    item["params"] = doc["params"]
    item["connectionSpec"] = doc["connectionSpec"]
    if doc.get("providerRefId"):
        item["providerRefId"] = doc["providerRefId"]
    item["inheritedAttributes"] = {
        "baseConnection": {
            "id": doc["baseConnectionId"],
            "connectionSpec": doc["baseConnectionSpec"],
        }
    }
    item.update(version_fields(row))
    return item


def _view(row: Resource) -> dict[str, Any]:
    view: dict[str, Any] = {
        "name": row.name,
        "baseConnectionId": row.doc["baseConnectionId"],
        "data": row.doc["data"],
        "params": row.doc["params"],
        "connectionSpec": row.doc["connectionSpec"],
    }
    if row.doc.get("description") is not None:
        view["description"] = row.doc["description"]
    return view


def patch(
    session: Session,
    runtime: Runtime,
    scope: Scope,
    row: Resource,
    *,
    expected_etag: str,
    operations: Any,
) -> Resource:
    resources.check_etag(row, expected_etag)
    view = _view(row)
    patched = patched_connection(view, operations, noun="source connection")
    model = parse_model(patched)
    spec = source_spec(runtime, model.connection_spec.id, None)
    base = base_connection(session, scope, model.base_connection_id, spec)
    doc = _doc(model, spec, base)
    before = row.doc["params"]
    if _tracks_changes(doc["params"]) and (
        not _tracks_changes(before)
        or _change_tracking_target(before) != _change_tracking_target(doc["params"])
    ):
        check_change_tracking(runtime, base, doc["params"])
    return resources.replace_resource(
        session,
        scope=scope,
        row=row,
        expected_etag=expected_etag,
        doc=doc,
        name=model.name,
        state=row.state,
    )


def delete(session: Session, scope: Scope, row: Resource) -> None:
    """Delete unless dataflows read from it (1418)."""
    delete_unless_used(session, scope, row, field="sourceConnectionIds", noun="source connection")
