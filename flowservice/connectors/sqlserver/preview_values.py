"""Arrow values → JSON-ready preview values (decided in docs/sqlserver-connector.md).

Decimals become strings with their full scale (JSON numbers would pass through
binary floating point in most clients), binary becomes base64, temporal values
ISO 8601 strings, datetimeoffset with its own offset.
"""

from __future__ import annotations

import base64
from datetime import UTC, timedelta, timezone
from decimal import Decimal
from typing import Any

import pyarrow as pa

from flowservice.connectors.sqlserver.types import DATETIMEOFFSET


def json_rows(batch: pa.RecordBatch) -> list[dict[str, Any]]:
    """One dict per row, column order kept; preview sizes only (Python objects per value)."""
    columns = [_json_column(batch.column(i)) for i in range(batch.num_columns)]
    names = batch.schema.names
    return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


def _json_column(array: pa.Array) -> list[Any]:
    kind = array.type
    if kind == DATETIMEOFFSET:
        return [_datetimeoffset(v) for v in array.to_pylist()]
    values: list[Any] = array.to_pylist()
    if pa.types.is_decimal(kind):
        return [None if v is None else _decimal(v) for v in values]
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind):
        return [None if v is None else base64.b64encode(v).decode("ascii") for v in values]
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return [None if v is None else v.isoformat() for v in values]
    return values


def _decimal(value: Decimal) -> str:
    return format(value, "f")


def _datetimeoffset(value: dict[str, Any] | None) -> str | None:
    if value is None:
        return None
    utc = value["utc"].replace(tzinfo=UTC)
    try:
        return str(utc.astimezone(timezone(timedelta(minutes=value["offset_minutes"]))).isoformat())
    except OverflowError:  # local time before year 1 or after 9999: show the instant in UTC
        return str(utc.isoformat())
