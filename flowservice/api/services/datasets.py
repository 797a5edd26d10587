"""Catalog datasets: a metadata row per dataset, its data in a Delta table of the lake."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from flowservice.api.patching import apply_json_patch
from flowservice.api.schemas.datasets import DataSetCreate, DataSetEditable
from flowservice.api.services.body_checks import parse_body
from flowservice.api.services.flow_usage import flows_referencing
from flowservice.api.services.schema_registry import schema_fields
from flowservice.errors import Conflict, InvalidRequest, ValidationFailed
from flowservice.flows.persistence.batches import BATCH_KIND
from flowservice.flows.persistence.datasets import DATASET_KIND, location_of

# where a dataset's table lives is decided below the API (runs need it too); routes and the
# mapping checks reach it through this module
from flowservice.flows.persistence.datasets import dataset_of as dataset_of
from flowservice.flows.persistence.datasets import open_dataset as open_dataset
from flowservice.lake import Dataset, XdmField, dataset_fields, fields_from_dicts
from flowservice.settings import Settings
from flowservice.store.repos import resources
from flowservice.store.repos.resources import Scope
from flowservice.store.tables import Resource

KIND = DATASET_KIND
TARGET_KIND = "targetConnections"
DEFAULT_LIMIT, MAX_LIMIT = 50, 100
FILTERABLE = frozenset(
    {
        "id",
        "name",
        "description",
        "created",
        "updated",
        "createdClient",
        "createdUser",
        "updatedUser",
        "schemaRef.id",
        "schemaPolicy",
        "enableErrorDiagnostics",
        "dataSourceId",
    }
)
_DESCRIPTIVE = ("description", "tags", "enableErrorDiagnostics", "fileDescription", "dataSourceId")


def new_dataset_id() -> str:
    """24 hex digits like the Catalog's ids: seconds since the epoch, then random."""
    return f"{int(time.time()):08x}{os.urandom(8).hex()}"


def _validated(model_cls: type[DataSetEditable], body: Any) -> DataSetEditable:
    return parse_body(model_cls, body)


def _descriptive(model: DataSetEditable) -> dict[str, Any]:
    return {
        "description": model.description,
        "tags": model.tags,
        "enableErrorDiagnostics": model.enable_error_diagnostics,
        "fileDescription": model.file_description,
        "dataSourceId": model.data_source_id,
        "schemaPolicy": model.schema_policy,
    }


def create_dataset(session: Session, settings: Settings, scope: Scope, body: Any) -> Resource:
    """Store the row and create the Delta table (at once when a schema is given)."""
    if not isinstance(body, Mapping):
        raise ValidationFailed("The request body must be a JSON object.")
    model = _validated(DataSetCreate, body)
    assert isinstance(model, DataSetCreate)
    fields = dataset_fields(model.model_dump(by_alias=True, exclude_none=True))
    ref = model.schema_ref
    ref_id = None if ref is None else ref.id
    if fields is None and ref is not None and ref.id is not None and ref.fields is None:
        # a schema of the Schema Registry: the table takes its fields from the resolved schema
        ref_id, raw = schema_fields(session, scope, ref.id, ref.content_type)
        fields = fields_from_dicts(raw)
    doc = _descriptive(model)
    doc["revision"] = 0
    doc["fields"] = None if fields is None else [f.to_dict() for f in fields]
    if model.schema_ref is not None:
        doc["schemaRef"] = {"id": ref_id, "contentType": model.schema_ref.content_type}
    if isinstance(model.schema_, str):
        doc["schema"] = model.schema_
    dataset_id = new_dataset_id()
    row = resources.insert_resource(
        session, scope=scope, kind=KIND, doc=doc, name=model.name, resource_id=dataset_id
    )
    # The table is created last: a failure rolls the row back with it.
    Dataset.create(
        location_of(settings, scope, dataset_id),
        name=model.name,
        fields=fields,
        policy=model.schema_policy,
    )
    return row


def observable_schema(fields: tuple[XdmField, ...] | None) -> dict[str, Any]:
    """The fields as the JSON Schema subset the Catalog shows (``{}`` before any schema)."""
    if not fields:
        return {}
    return {
        "type": "object",
        "properties": {f.name: _json_property(f) for f in fields},
        **(
            {"required": required}
            if (required := [f.name for f in fields if not f.nullable])
            else {}
        ),
    }


_JSON_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "number": {"type": "number"},
    "integer": {"type": "integer", "meta:xdmType": "long"},
    "int": {"type": "integer", "meta:xdmType": "int"},
    "short": {"type": "integer", "meta:xdmType": "short"},
    "byte": {"type": "integer", "meta:xdmType": "byte"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "date-time": {"type": "string", "format": "date-time"},
    "binary": {"type": "string", "meta:xdmType": "binary"},
}


def _json_property(field: XdmField) -> dict[str, Any]:
    if field.type == "object":
        return observable_schema(field.fields) or {"type": "object", "properties": {}}
    if field.type.startswith("decimal"):
        return {"type": "number", "meta:xdmType": field.type}
    return dict(_JSON_TYPES[field.type])


def semantic_version(row: Resource) -> str:
    return f"1.0.{int(row.doc.get('revision', 0))}"


def to_wire(
    row: Resource,
    scope: Scope,
    *,
    fields: tuple[XdmField, ...] | None,
    base_path: str,
    last_batch: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One Catalog dataset object (the value under its id)."""
    doc = row.doc
    item: dict[str, Any] = {
        "id": row.id,
        "name": row.name,
        "imsOrg": row.org_id,
        "sandboxId": row.sandbox_id,
        "sandboxName": scope.sandbox_name,
        "version": semantic_version(row),
        "etag": f'"{row.etag}"',
        "created": row.created_at,
        "updated": row.updated_at,
        "createdClient": row.created_client,
        "updatedClient": row.updated_client,
        "createdUser": row.created_by,
        "updatedUser": row.updated_by,
    }
    for key in _DESCRIPTIVE:
        if doc.get(key) is not None:
            item[key] = doc[key]
    if doc.get("schemaRef"):
        item["schemaRef"] = {k: v for k, v in doc["schemaRef"].items() if v is not None}
    if doc.get("schema"):
        item["schema"] = doc["schema"]
    item["schemaPolicy"] = doc.get("schemaPolicy", "evolve")
    item["fields"] = [f.to_dict() for f in fields or ()]
    item["observableSchema"] = observable_schema(fields)
    item["basePath"] = base_path
    item["files"] = f"@/dataSetFiles?dataSetId={row.id}"
    item["batches"] = f"@/batches?dataSet={row.id}"
    if last_batch:
        item["lastBatchId"] = last_batch["id"]
        item["lastBatchStatus"] = last_batch["status"]
    return item


def editable_view(row: Resource) -> dict[str, Any]:
    view: dict[str, Any] = {"name": row.name, "schemaPolicy": row.doc.get("schemaPolicy", "evolve")}
    for key in _DESCRIPTIVE:
        if row.doc.get(key) is not None:
            view[key] = row.doc[key]
    return view


def patch_dataset(
    session: Session, scope: Scope, row: Resource, *, expected_etag: str | None, body: Any
) -> Resource:
    """JSON Patch (an array) or a partial object of descriptive fields; the schema stays."""
    if expected_etag is not None:
        resources.check_etag(row, expected_etag)
    view = editable_view(row)
    if isinstance(body, list):
        patched = apply_json_patch(view, body)
    elif isinstance(body, Mapping) and body:
        patched = {**view, **body}
    else:
        raise InvalidRequest(
            "The PATCH body must be a JSON Patch array or a non-empty object.", code=1455
        )
    for key in ("fields", "schema", "schemaRef", "observableSchema"):
        if key in patched:
            raise InvalidRequest(
                f"{key} cannot be changed: a dataset's schema changes only through its batches "
                "(schemaPolicy evolve adds new columns).",
                code=1455,
            )
    model = _validated(DataSetEditable, patched)
    doc = {**row.doc, **_descriptive(model), "revision": int(row.doc.get("revision", 0)) + 1}
    return resources.replace_resource(
        session, scope=scope, row=row, expected_etag=expected_etag, doc=doc, name=model.name
    )


def flows_targeting(session: Session, scope: Scope, dataset_id: str) -> list[str]:
    """Ids of the flows whose target connections write into the dataset."""
    targets = {
        r.id
        for r in resources.list_resources(session, scope=scope, kind=TARGET_KIND)
        if (r.doc.get("params") or {}).get("dataSetId") == dataset_id
    }
    return flows_referencing(session, scope, field="targetConnectionIds", ids=targets)


def delete_dataset(session: Session, settings: Settings, scope: Scope, row: Resource) -> None:
    """Delete the row, its batch records and the table's files; refused while flows write to it."""
    flows = flows_targeting(session, scope, row.id)
    if flows:
        raise Conflict(
            f"The dataset {row.id} is the target of {len(flows)} dataflow(s) "
            f"({', '.join(flows[:5])}); delete those dataflows first.",
            resource_type=KIND,
            resource_id=row.id,
        )
    for batch in resources.list_resources(
        session, scope=scope, kind=BATCH_KIND, parent_ids=[row.id]
    ):
        resources.delete_resource(session, row=batch)
    resources.delete_resource(session, row=row)
    # Files go last, inside the transaction: if removing them fails the rows come back.
    dataset_of(settings, scope, row).delete_files()
