"""The schemas a mapping set is checked against: the dataset it writes and the source it reads.

Destination (first that applies): ``dataSetId`` (an extension) → that dataset's
schema; ``outputSchema`` with inline ``fields``/``schemaRef.fields``/``jsonSchema``;
``xdmSchema`` (or ``schemaRef.id``/``outputSchema.schemaRef.id``) naming a dataset
id or the ``schemaRef.id`` a dataset was created with.

Source (first that applies): ``inputSchema`` with inline ``fields``/``jsonSchema``;
``sourceConnectionId`` (an extension) → its ``params.columns``; otherwise every
column the mappings name, typed as text (what a source column can always be
converted from), so only the columns themselves go unchecked.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pyarrow as pa
from sqlalchemy.orm import Session

from flowservice.api.schemas.mapping_sets import MappingSetCreate, SchemaIn
from flowservice.api.services import datasets
from flowservice.errors import FlowServiceError, NotFound, ValidationFailed
from flowservice.lake import XdmField, field_from_dict, fields_from_dicts, fields_from_json_schema
from flowservice.lake.xdm import arrow_schema
from flowservice.mapping import MappingSet
from flowservice.mapping.syntax import Call, Column, ExpressionSyntaxError, Node, parse
from flowservice.settings import Settings
from flowservice.store.repos import resources
from flowservice.store.repos.resources import Scope
from flowservice.store.tables import Resource

SOURCE_KIND = "sourceConnections"


def _inline(schema: SchemaIn | None, where: str) -> tuple[XdmField, ...] | None:
    if schema is None:
        return None
    if schema.fields is not None:
        return fields_from_dicts(schema.fields)
    ref_fields = (schema.schema_ref or {}).get("fields")
    if isinstance(ref_fields, list):
        return fields_from_dicts(ref_fields)
    if schema.json_schema is not None:
        return fields_from_json_schema(schema.json_schema, where=f"{where}.jsonSchema")
    return None


def _dataset_fields(settings: Settings, scope: Scope, row: Resource) -> tuple[XdmField, ...] | None:
    lake_fields = datasets.dataset_of(settings, scope, row).fields()
    if lake_fields is not None:
        return lake_fields
    declared = row.doc.get("fields")
    return fields_from_dicts(declared) if declared else None


def _schema_ids(model: MappingSetCreate) -> list[str]:
    ids = [model.xdm_schema, (model.schema_ref or {}).get("id")]
    if model.output_schema is not None:
        ids.append((model.output_schema.schema_ref or {}).get("id"))
        ids.append(model.output_schema.id)
    return [i for i in ids if isinstance(i, str) and i]


def names_destination(model: MappingSetCreate) -> bool:
    """Whether the body says which schema the mappings write (else: typed by the expressions)."""
    return bool(
        model.data_set_id or _inline(model.output_schema, "outputSchema") or _schema_ids(model)
    )


def destination(
    session: Session, settings: Settings, scope: Scope, model: MappingSetCreate
) -> tuple[str | None, tuple[XdmField, ...] | None]:
    """The dataset the mappings write (id, when it is one of ours) and its fields.

    Fields are None for a dataset created with only a name and not yet written.
    """
    if model.data_set_id is not None:
        try:
            row = resources.get_resource(
                session, scope=scope, kind=datasets.KIND, resource_id=model.data_set_id
            )
        except NotFound:
            raise ValidationFailed(
                f"dataSetId {model.data_set_id} is not a dataset of this org and sandbox."
            ) from None
        return row.id, _dataset_fields(settings, scope, row)
    inline = _inline(model.output_schema, "outputSchema")
    if inline is not None:
        return None, inline
    wanted = _schema_ids(model)
    if wanted:
        for row in resources.list_resources(session, scope=scope, kind=datasets.KIND):
            names = {row.id, (row.doc.get("schemaRef") or {}).get("id"), row.doc.get("schema")}
            if names & set(wanted):
                return row.id, _dataset_fields(settings, scope, row)
        raise ValidationFailed(
            f"xdmSchema {wanted[0]!r} is neither a dataset of this sandbox nor the schemaRef.id "
            "of one; send dataSetId, or outputSchema with inline fields."
        )
    raise ValidationFailed(
        "Name the schema the mappings write: dataSetId, xdmSchema (a dataset's id or "
        "schemaRef.id), or outputSchema with inline fields."
    )


def _columns_of(node: Node) -> Iterator[str]:
    if isinstance(node, Column):
        yield node.name
    elif isinstance(node, Call):
        for arg in node.args:
            yield from _columns_of(arg)


def columns_named(text: str) -> list[str]:
    """The columns an expression names (empty when it does not parse)."""
    try:
        return list(dict.fromkeys(_columns_of(parse(text))))
    except ExpressionSyntaxError:
        return []


def inline_source(schema: SchemaIn | None) -> pa.Schema | None:
    """An ``inputSchema`` with inline fields as an Arrow schema (None: no inline fields)."""
    inline = _inline(schema, "inputSchema")
    return arrow_schema(inline) if inline is not None else None


def _named_columns(mappings: Sequence[Mapping[str, Any]]) -> pa.Schema:
    names: dict[str, None] = {}
    for mapping in mappings:
        text = mapping.get("sourceAttribute")
        if not isinstance(text, str) or not text.strip():
            continue
        if mapping.get("sourceType") == "ATTRIBUTE":
            names[text] = None
            continue
        try:
            names.update(dict.fromkeys(_columns_of(parse(text))))
        except ExpressionSyntaxError:
            continue  # compiling reports it, with its position
    return pa.schema([pa.field(name, pa.string()) for name in names])


def _column_field(column: Mapping[str, Any]) -> XdmField:
    """An explore column ``{name, type, xdm: {type, format}}`` as a field; text when unclear."""
    name = str(column.get("name", ""))
    xdm = column.get("xdm") if isinstance(column.get("xdm"), Mapping) else {}
    assert isinstance(xdm, Mapping)
    raw = {"name": name, "type": xdm.get("type") or column.get("type"), "format": xdm.get("format")}
    if isinstance(column.get("meta:xdmType"), str):
        raw["type"] = column["meta:xdmType"]
    try:
        return field_from_dict(raw)
    except FlowServiceError:
        return XdmField(name, "string")


def source(
    session: Session, scope: Scope, model: MappingSetCreate, mappings: Sequence[Mapping[str, Any]]
) -> pa.Schema:
    inline = _inline(model.input_schema, "inputSchema")
    if inline is not None:
        return arrow_schema(inline)
    if model.source_connection_id is not None:
        try:
            row = resources.get_resource(
                session, scope=scope, kind=SOURCE_KIND, resource_id=model.source_connection_id
            )
        except NotFound:
            raise ValidationFailed(
                f"sourceConnectionId {model.source_connection_id} is not a source connection "
                "of this org and sandbox."
            ) from None
        columns = (row.doc.get("params") or {}).get("columns") or []
        if columns:
            return arrow_schema([_column_field(c) for c in columns])
    return _named_columns(mappings)


def static_expression(value: str) -> str:
    """A ``STATIC`` mapping's value as a string literal of the expression language."""
    return json.dumps(value, ensure_ascii=False)


def check(
    mappings: Sequence[Mapping[str, Any]],
    *,
    source_schema: pa.Schema,
    fields: tuple[XdmField, ...] | None,
) -> None:
    """Compile the mappings; ``MappingInvalid`` (400, 1419) names every bad one."""
    MappingSet.compile(list(mappings), source=source_schema, dataset=fields)
