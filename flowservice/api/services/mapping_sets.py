"""Data Prep mapping sets: versioned lists of ``{sourceAttribute, destinationXdmPath}``.

Every version is kept in the row's ``doc["versions"]``; ``PUT`` adds one and
``GET ?version=N`` reads any of them. Mappings are checked with the mapping
language against the destination dataset's schema before anything is stored.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid
from collections.abc import Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy.orm import Session

from flowservice.api.schemas.expression_language import ExpressionValidate
from flowservice.api.schemas.mapping_sets import MappingSetCreate, MappingSetPreview
from flowservice.api.services import mapping_schemas
from flowservice.api.services.body_checks import parse_body
from flowservice.errors import InvalidRequest, ValidationFailed
from flowservice.flows.persistence.mapping_sets import MAPPING_SET_KIND, rules, stored_version
from flowservice.lake import XdmField
from flowservice.mapping import MappingInvalid, MappingProblem, MappingSet
from flowservice.mapping.casting import cast_checked
from flowservice.mapping.expressions import ExpressionTypeError, compile_expression
from flowservice.mapping.problems import ExpressionInvalid
from flowservice.mapping.syntax import ExpressionSyntaxError, parse
from flowservice.settings import Settings
from flowservice.store.db import now_ms
from flowservice.store.repos import resources
from flowservice.store.repos.resources import Scope
from flowservice.store.tables import Resource

KIND = MAPPING_SET_KIND
DEFAULT_LIMIT, MAX_LIMIT = 10, 100
FILTERABLE = frozenset({"id", "name", "createdDate", "modifiedDate", "updatedDate", "dataSetId"})
SOURCE_TYPES = ("ATTRIBUTE", "EXPRESSION", "STATIC", "text/x.schema-path")
# mapping keys kept as sent (Data Prep's identity settings and labels)
_PASSTHROUGH = (
    "identity",
    "primaryIdentity",
    "identityGroup",
    "namespaceCode",
    "name",
    "description",
    "functionVersion",
)


def parse_model(body: Any) -> MappingSetCreate:
    return parse_body(MappingSetCreate, body)


def _mapping(index: int, raw: Mapping[str, Any]) -> dict[str, Any]:
    """One mapping in its stored form; the Data Prep spellings and ours both accepted."""
    source = raw.get("sourceAttribute", raw.get("source"))
    target = raw.get("destinationXdmPath", raw.get("destination"))
    source_type = raw.get("sourceType") or "EXPRESSION"
    where = f"mappings[{index}]"
    if not isinstance(source, str) or not source.strip():
        raise ValidationFailed(f"{where}: sourceAttribute must be a non-empty string")
    if not isinstance(target, str) or not target.strip():
        raise ValidationFailed(f"{where}: destinationXdmPath must be a non-empty string")
    if source_type not in SOURCE_TYPES:
        raise ValidationFailed(f"{where}: sourceType must be one of {', '.join(SOURCE_TYPES)}")
    out: dict[str, Any] = {
        "id": str(raw.get("id") or uuid.uuid4().hex),
        "sourceType": source_type,
        "sourceAttribute": source,
        "destinationXdmPath": target,
    }
    out.update({k: raw[k] for k in _PASSTHROUGH if k in raw})
    return out


def _version(
    session: Session,
    settings: Settings,
    scope: Scope,
    body: Any,
    *,
    number: int,
    created: tuple[int, str] | None,
) -> dict[str, Any]:
    """Validate a request body and build the stored version ``number``."""
    model = parse_model(body)
    mappings = [_mapping(i, m) for i, m in enumerate(model.mappings)]
    dataset_id, fields = mapping_schemas.destination(session, settings, scope, model)
    version = {"mappings": mappings}
    compiled = rules(version)
    source_schema = mapping_schemas.source(session, scope, model, compiled)
    mapping_schemas.check(compiled, source_schema=source_schema, fields=fields)
    now = now_ms()
    created_at, created_by = created or (now, scope.actor)
    return {
        "version": number,
        "name": model.name,
        "description": model.description,
        "xdmSchema": model.xdm_schema,
        "xdmVersion": model.xdm_version,
        "schemaRef": model.schema_ref,
        "outputSchema": _dumped(model.output_schema),
        "inputSchema": _dumped(model.input_schema),
        "dataSetId": dataset_id,
        "sourceConnectionId": model.source_connection_id,
        "allowNullValues": bool(model.allow_null_values),
        "mappings": [
            m | {"version": number, "createdDate": now, "modifiedDate": now} for m in mappings
        ],
        "createdDate": created_at,
        "createdBy": created_by,
        "modifiedDate": now,
        "modifiedBy": scope.actor,
    }


def _dumped(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    dumped: dict[str, Any] = value.model_dump(by_alias=True, exclude_none=True)
    return dumped


def create_mapping_set(session: Session, settings: Settings, scope: Scope, body: Any) -> Resource:
    version = _version(session, settings, scope, body, number=0, created=None)
    return resources.insert_resource(
        session,
        scope=scope,
        kind=KIND,
        name=version["name"],
        doc={"versions": [version]},
        resource_id=uuid.uuid4().hex,
    )


def update_mapping_set(
    session: Session,
    settings: Settings,
    scope: Scope,
    row: Resource,
    body: Any,
    *,
    expected_etag: str | None,
) -> Resource:
    """``PUT``: the body becomes the next version; earlier versions stay readable."""
    if expected_etag is not None:
        resources.check_etag(row, expected_etag)
    versions = list(row.doc["versions"])
    first = versions[0]
    version = _version(
        session,
        settings,
        scope,
        body,
        number=len(versions),
        created=(first["createdDate"], first["createdBy"]),
    )
    return resources.replace_resource(
        session,
        scope=scope,
        row=row,
        expected_etag=expected_etag,
        doc={"versions": [*versions, version]},
        name=version["name"],
    )


def summary(row: Resource) -> dict[str, Any]:
    """Data Prep's SimpleRepresentation: what create answers."""
    version = stored_version(row)
    return {
        "id": row.id,
        "version": version["version"],
        "createdDate": version["createdDate"],
        "modifiedDate": version["modifiedDate"],
        "createdBy": version["createdBy"],
        "modifiedBy": version["modifiedBy"],
    }


def mapping_wire(mapping: Mapping[str, Any], version: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **mapping,
        "source": mapping["sourceAttribute"],
        "destination": mapping["destinationXdmPath"],
        "identity": bool(mapping.get("identity", False)),
        "primaryIdentity": bool(mapping.get("primaryIdentity", False)),
        "createdBy": version["modifiedBy"],
        "modifiedBy": version["modifiedBy"],
    }


def to_wire(row: Resource, scope: Scope, number: int | None = None) -> dict[str, Any]:
    version = stored_version(row, number)
    item: dict[str, Any] = summary(row) | {
        "version": version["version"],
        "modifiedDate": version["modifiedDate"],
        "modifiedBy": version["modifiedBy"],
    }
    for key in ("name", "description", "xdmSchema", "xdmVersion", "schemaRef", "outputSchema"):
        if version.get(key) is not None:
            item[key] = version[key]
    for key in ("inputSchema", "dataSetId", "sourceConnectionId"):
        if version.get(key) is not None:
            item[key] = version[key]
    item["allowNullValues"] = version["allowNullValues"]
    item["status"] = "PUBLISHED"
    item["latestVersion"] = len(row.doc["versions"]) - 1
    item["mappings"] = [mapping_wire(m, version) for m in version["mappings"]]
    item["imsOrgId"] = row.org_id
    item["sandboxName"] = scope.sandbox_name
    item["etag"] = f'"{row.etag}"'
    return item


# ---- checking without storing: /languages/el/validate, /mappingSets/validate, /preview ------


def validate_expression(body: Any) -> bool:
    """``True`` when the expression parses and type-checks; else ``ExpressionInvalid`` (400).

    Columns are typed from ``inputSchema`` when given; otherwise every column the
    expression names has an unknown type (Arrow ``null``), which every function accepts.
    """
    model = parse_body(ExpressionValidate, body)
    text = model.text()
    if text is None or not text.strip():
        raise ValidationFailed("body.expression must be a non-empty string")
    try:
        node = parse(text)
    except ExpressionSyntaxError as exc:
        raise ExpressionInvalid(exc.message, exc.position) from None
    source = mapping_schemas.inline_source(model.input_schema)
    if source is None:
        source = pa.schema([pa.field(c, pa.null()) for c in mapping_schemas.columns_named(text)])
    try:
        compile_expression(node, source)
    except ExpressionTypeError as exc:
        raise ExpressionInvalid(exc.message, exc.position) from None
    return True


def _compile_parts(
    session: Session,
    settings: Settings,
    scope: Scope,
    model: MappingSetCreate,
    mappings: list[dict[str, Any]] | None = None,
) -> tuple[list[dict[str, Any]], pa.Schema, tuple[XdmField, ...] | None]:
    if mappings is None:
        mappings = [_mapping(i, m) for i, m in enumerate(model.mappings)]
    compiled = rules({"mappings": mappings})
    fields = None
    if mapping_schemas.names_destination(model):
        _, fields = mapping_schemas.destination(session, settings, scope, model)
    source_schema = mapping_schemas.source(session, scope, model, compiled)
    return compiled, source_schema, fields


def _error_info(mapping: Mapping[str, Any], reason: str) -> dict[str, Any]:
    return {
        "source": mapping.get("sourceAttribute", ""),
        "destination": mapping.get("destinationXdmPath", ""),
        "sourceType": mapping.get("sourceType") or "EXPRESSION",
        "exception": reason,
    }


def validate_mapping_set(
    session: Session, settings: Settings, scope: Scope, body: Any
) -> dict[str, Any]:
    """One ``{status, errors}`` per mapping (Data Prep's MappingValidationResponse).

    Only a body of the wrong shape is a 400: what is wrong with the mappings, or with the
    schemas they are checked against, is reported as FAILED entries. The source schema comes
    from ``inputSchema`` (or ``sourceConnectionId``); problems of the set as a whole (a
    required field with no mapping, a schema that cannot be found) follow as extra entries.
    """
    model = parse_model(body)
    entries: list[dict[str, Any]] = []
    usable: list[dict[str, Any]] = []
    for index, raw in enumerate(model.mappings):
        try:
            usable.append(_mapping(index, raw))
            entries.append({"status": "SUCCESS", "errors": []})
        except ValidationFailed as exc:
            entries.append({"status": "FAILED", "errors": [_error_info(raw, exc.message)]})
    positions = [i for i, e in enumerate(entries) if e["status"] == "SUCCESS"]
    problems: list[MappingProblem] = []
    try:
        if usable:
            compiled, source, fields = _compile_parts(session, settings, scope, model, usable)
            MappingSet.compile(compiled, source=source, dataset=fields)
    except MappingInvalid as exc:
        problems = list(exc.problems)
    except InvalidRequest as exc:
        problems = [MappingProblem(None, "", "", exc.message)]
    for problem in problems:
        if problem.index is None:
            error = {"source": "", "destination": problem.destination}
            entries.append(
                {"status": "FAILED", "errors": [error | {"exception": problem.describe()}]}
            )
            continue
        entry = entries[positions[problem.index]]
        entry["status"] = "FAILED"
        entry["errors"].append(_error_info(usable[problem.index], problem.describe()))
    return {"validationResponse": entries}


def _source_batch(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.RecordBatch:
    """Sample rows as a batch: declared columns typed as declared, the rest inferred."""
    names = list(dict.fromkeys([*schema.names, *(k for row in rows for k in row)]))
    arrays: list[pa.Array] = []
    for name in names:
        values = [row.get(name) for row in rows]
        declared = schema.field(name).type if name in schema.names else None
        arrays.append(_sample_column(name, values, declared))
    return (
        pa.RecordBatch.from_arrays(arrays, names=names)
        if names
        else pa.record_batch({"_": pa.nulls(len(rows))})
    )


def _sample_column(name: str, values: list[Any], declared: pa.DataType | None) -> pa.Array:
    if declared is not None and not pa.types.is_null(declared):
        texts = [_as_text(v) for v in values]
        result = cast_checked(pa.array(texts, pa.string()), declared, str(declared))
        if result.failures:
            rows = pc.indices_nonzero(result.failures[0].mask).to_pylist()
            raise ValidationFailed(f"data[{rows[0]}].{name}: {result.failures[0].reason(rows[0])}")
        return result.values
    kinds = {_json_kind(v) for v in values if v is not None}
    if kinds in ({"boolean"}, {"integer"}, {"number"}, {"integer", "number"}, {"string"}):
        try:
            return pa.array(values)
        except (pa.ArrowException, OverflowError):
            pass  # an integer beyond 64 bits
    # mixed JSON types, objects, arrays: as text, which every target converts from
    return pa.array([_as_text(v) for v in values], pa.string())


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string" if isinstance(value, str) else "json"


def _as_text(value: Any) -> str | None:
    return value if isinstance(value, str) or value is None else json.dumps(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_json_value(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def preview_mapping_set(
    session: Session, settings: Settings, scope: Scope, body: Any
) -> dict[str, Any]:
    """Map sample rows: ``data`` (an object for one row sent as an object, else a list with
    null for failed rows) and ``errors`` (TransformErrorInfo plus the failed ``row``)."""
    model = parse_body(MappingSetPreview, body)
    single = isinstance(model.data, dict)
    rows = [model.data] if isinstance(model.data, dict) else list(model.data)
    compiled, _, fields = _compile_parts(session, settings, scope, model.mapping_set)
    # inputSchema's fields are typed as declared; other columns from their JSON values
    declared = mapping_schemas.inline_source(model.mapping_set.input_schema) or pa.schema([])
    batch = _source_batch(rows, declared)
    mapping = MappingSet.compile(compiled, source=batch.schema, dataset=fields)
    mapped = mapping.apply(batch, max_error_samples=len(rows))
    good = iter(mapped.records.to_pylist())
    failed = mapped.error_mask.to_pylist()
    out: list[dict[str, Any] | None] = [None if bad else _json_value(next(good)) for bad in failed]
    errors = [
        _error_info(compiled[e.mapping], e.reason) | {"row": e.row, "destination": e.destination}
        for e in mapped.errors
    ]
    data: Any = (out[0] or {}) if single else out
    return {"data": data, "errors": errors}
