"""Arrow values → JSON-ready preview values.

Decimals become strings with their full scale (a JSON number would pass through
binary floating point in most clients), binary becomes base64, dates and
timestamps ISO 8601 text (timestamptz with its ``+00:00``). JSON has no NaN or
infinity: such ``real`` and ``double precision`` values are the strings
PostgreSQL writes for them (``NaN``, ``Infinity``, ``-Infinity``).
"""

from __future__ import annotations

import base64
import math
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
    if pa.types.is_floating(kind):
        return [v if v is None or math.isfinite(v) else _non_finite(v) for v in values]
    return values


def _non_finite(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"
