"""Target connections: the dataset of the Data Lake a dataflow writes into."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from flowservice.api.input_limits import shown
from flowservice.api.runtime import Runtime
from flowservice.api.schemas.target_connections import TargetConnectionCreate
from flowservice.api.services import datasets
from flowservice.api.services.body_checks import (
    base_connection,
    check_params,
    connection_spec,
    parse_body,
    patched_connection,
)
from flowservice.api.services.flow_usage import delete_unless_used
from flowservice.api.views import AUDIT_FILTERABLE, audit_fields, version_fields
from flowservice.errors import InvalidRequest, NotFound, ValidationFailed
from flowservice.flows.write_mode import parse_target_write
from flowservice.specs.catalog import ConnectionSpec
from flowservice.store.repos import resources
from flowservice.store.repos.resources import Scope
from flowservice.store.tables import Resource

KIND = "targetConnections"
DATA_LAKE_SPEC_ID = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
DATA_LAKE_FORMAT = "parquet_xdm"
FILTERABLE = AUDIT_FILTERABLE | frozenset(
    {
        "name",
        "description",
        "state",
        "baseConnectionId",
        "connectionSpec.id",
        "connectionSpec.version",
        "data.format",
        "data.schema.id",
        "params.dataSetId",
    }
)


def parse_model(body: Any) -> TargetConnectionCreate:
    return parse_body(TargetConnectionCreate, body)


def target_spec(runtime: Runtime, spec_id: str, version: str | None) -> ConnectionSpec:
    spec = connection_spec(runtime, spec_id, version)
    if not isinstance(spec.doc.get("targetSpec"), dict):
        raise InvalidRequest(
            f"Connection spec {spec_id} ({spec.name}) is not a target; "
            f"datasets are written through the Data Lake spec {DATA_LAKE_SPEC_ID}.",
            code=1100,
        )
    return spec


def _checked_params(
    session: Session, scope: Scope, spec: ConnectionSpec, params: dict[str, Any]
) -> dict[str, Any]:
    check_params(spec.doc["targetSpec"].get("spec") or {}, params)
    parse_target_write(params)
    dataset_id = params.get("dataSetId")
    if spec.id == DATA_LAKE_SPEC_ID:
        try:
            resources.get_resource(
                session, scope=scope, kind=datasets.KIND, resource_id=str(dataset_id)
            )
        except NotFound:
            raise ValidationFailed(
                f"params.dataSetId {shown(str(dataset_id))} is not a dataset of this org and "
                "sandbox; create it with POST /data/foundation/catalog/dataSets first."
            ) from None
    return dict(params)


def _base_spec(
    session: Session, scope: Scope, base_id: str | None, spec: ConnectionSpec
) -> dict[str, Any] | None:
    if base_id is None:
        return None
    connection_spec: dict[str, Any] = base_connection(session, scope, base_id, spec).doc[
        "connectionSpec"
    ]
    return connection_spec


def _doc(
    session: Session, scope: Scope, model: TargetConnectionCreate, spec: ConnectionSpec
) -> dict[str, Any]:
    data_format = model.data.format
    if data_format is None:
        # Adobe's tutorial body leaves it out; the Data Lake takes only one format
        if spec.id != DATA_LAKE_SPEC_ID:
            raise ValidationFailed(f"data.format is required for connection spec {spec.id}.")
        data_format = DATA_LAKE_FORMAT
    if spec.id == DATA_LAKE_SPEC_ID and data_format != DATA_LAKE_FORMAT:
        raise ValidationFailed(
            f"data.format must be {DATA_LAKE_FORMAT!r} for the Data Lake, not {data_format!r}."
        )
    data: dict[str, Any] = {"format": data_format}
    if model.data.schema_ is not None:
        data["schema"] = model.data.schema_.model_dump(exclude_none=True)
    return {
        "description": model.description,
        "baseConnectionId": model.base_connection_id,
        "baseConnectionSpec": _base_spec(session, scope, model.base_connection_id, spec),
        "data": data,
        "params": _checked_params(session, scope, spec, model.params),
        "connectionSpec": {"id": spec.id, "version": spec.version},
        "providerRefId": spec.doc.get("providerId"),
    }


def create(session: Session, runtime: Runtime, scope: Scope, body: Any) -> Resource:
    model = parse_model(body)
    spec = target_spec(runtime, model.connection_spec.id, model.connection_spec.version)
    return resources.insert_resource(
        session,
        scope=scope,
        kind=KIND,
        name=model.name,
        state="enabled",
        spec_id=spec.id,
        parent_id=model.base_connection_id,
        doc=_doc(session, scope, model, spec),
    )


def to_wire(row: Resource, scope: Scope) -> dict[str, Any]:
    doc = row.doc
    item: dict[str, Any] = audit_fields(row, scope)
    if row.name is not None:
        item["name"] = row.name
    if doc.get("description") is not None:
        item["description"] = doc["description"]
    if doc.get("baseConnectionId"):
        item["baseConnectionId"] = doc["baseConnectionId"]
    item["state"] = row.state
    item["data"] = doc["data"]
    item["params"] = doc["params"]
    item["connectionSpec"] = doc["connectionSpec"]
    if doc.get("providerRefId"):
        item["providerRefId"] = doc["providerRefId"]
    inherited: dict[str, Any] = {}
    if doc.get("baseConnectionId"):
        inherited["baseConnection"] = {
            "id": doc["baseConnectionId"],
            "connectionSpec": doc["baseConnectionSpec"],
        }
    item["inheritedAttributes"] = inherited
    item.update(version_fields(row))
    return item


def _view(row: Resource) -> dict[str, Any]:
    view: dict[str, Any] = {
        "data": row.doc["data"],
        "params": row.doc["params"],
        "connectionSpec": row.doc["connectionSpec"],
    }
    for key, value in (
        ("name", row.name),
        ("description", row.doc.get("description")),
        ("baseConnectionId", row.doc.get("baseConnectionId")),
    ):
        if value is not None:
            view[key] = value
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
    patched = patched_connection(view, operations, noun="target connection")
    model = parse_model(patched)
    spec = target_spec(runtime, model.connection_spec.id, None)
    return resources.replace_resource(
        session,
        scope=scope,
        row=row,
        expected_etag=expected_etag,
        doc=_doc(session, scope, model, spec),
        name=model.name,
        state=row.state,
    )


def delete(session: Session, scope: Scope, row: Resource) -> None:
    """Delete unless dataflows write through it (1418)."""
    delete_unless_used(session, scope, row, field="targetConnectionIds", noun="target connection")
