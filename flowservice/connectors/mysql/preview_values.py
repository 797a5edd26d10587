"""Arrow values → JSON-ready preview values.

Decimals become strings with their full scale (JSON numbers would pass through
binary floating point in most clients), binary becomes base64, dates and
timestamps ISO 8601 strings (TIMESTAMP columns with ``+00:00``).
"""

from __future__ import annotations

import base64
from typing import Any

import pyarrow as pa


def json_rows(batch: pa.RecordBatch) -> list[dict[str, Any]]:
    """One dict per row, column order kept; preview sizes only (Python objects per value)."""
    columns = [_json_column(batch.column(i)) for i in range(batch.num_columns)]
    names = batch.schema.names
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def _json_column(array: pa.Array) -> list[Any]:
    kind = array.type
    values: list[Any] = array.to_pylist()
    if pa.types.is_decimal(kind):
        return [None if v is None else format(v, "f") for v in values]
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return [None if v is None else base64.b64encode(v).decode("ascii") for v in values]
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return [None if v is None else v.isoformat() for v in values]
    return values
