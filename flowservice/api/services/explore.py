"""Explore results on the wire: tables and columns as the Flow Service shows them."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from flowservice.api.services.json_decimals import decimal_text_json
from flowservice.connectors.base import (
    ChangeTrackingState,
    SourceColumn,
    SourceObject,
    TableSchema,
)

# XDM type of a column -> (JSON type, JSON format)
_XDM = {
    "string": ("string", None),
    "number": ("number", None),
    "double": ("number", None),
    "integer": ("integer", None),
    "long": ("integer", None),
    "int": ("integer", None),
    "short": ("integer", None),
    "byte": ("integer", None),
    "boolean": ("boolean", None),
    "date": ("string", "date"),
    "date-time": ("string", "date-time"),
    "binary": ("string", "binary"),
}


def object_to_wire(obj: SourceObject) -> dict[str, Any]:
    return {
        "type": obj.type,
        "name": obj.name,
        "path": obj.name,
        "canPreview": obj.can_preview,
        "canFetchSchema": obj.can_fetch_schema,
    }


def column_to_wire(column: SourceColumn) -> dict[str, Any]:
    json_type, fmt = _XDM.get(column.xdm_type, ("string", None))
    xdm: dict[str, Any] = {"type": json_type}
    wire: dict[str, Any] = {"name": column.name, "type": json_type}
    if fmt is not None:
        xdm["format"] = fmt
        wire["meta:xdmType"] = column.xdm_type
    wire["xdm"] = xdm
    meta: dict[str, Any] = {"originalType": column.original_type, "nullable": column.nullable}
    if column.primary_key_position is not None:
        meta["primaryKeyPosition"] = column.primary_key_position
    if column.lossy:
        # we carry this type as a string: say so rather than lose data silently
        meta["lossy"] = True
    wire["meta"] = meta
    return wire


def change_tracking_to_wire(state: ChangeTrackingState) -> dict[str, Any]:
    return {
        "enabled": state.table_enabled,
        "databaseEnabled": state.database_enabled,
        "currentVersion": state.current_version,
        "minValidVersion": state.min_valid_version,
    }


def _decimal_numbers(
    schema: TableSchema, rows: list[dict[str, Any]], *, as_strings: bool
) -> list[dict[str, Any]]:
    """The connector sends decimals as exact text; numbers where a double holds them."""
    names = [c.name for c in schema.columns if pa.types.is_decimal(c.arrow_type)]
    if as_strings or not names:
        return rows
    out = []
    for row in rows:
        row = dict(row)
        for name in names:
            value = row.get(name)
            if isinstance(value, str):
                row[name] = decimal_text_json(value)
        out.append(row)
    return out


def table_to_wire(
    schema: TableSchema,
    rows: list[dict[str, Any]] | None = None,
    *,
    decimals_as_strings: bool = False,
) -> dict[str, Any]:
    """A table's explore answer: columns and primary key, change tracking when known, rows."""
    wire: dict[str, Any] = {
        "format": "flat",
        "schema": {
            "columns": [column_to_wire(c) for c in schema.columns],
            "primaryKey": schema.primary_key,
        },
    }
    if schema.change_tracking is not None:
        wire["changeTracking"] = change_tracking_to_wire(schema.change_tracking)
    if rows is not None:
        wire["data"] = _decimal_numbers(schema, rows, as_strings=decimals_as_strings)
    return wire
