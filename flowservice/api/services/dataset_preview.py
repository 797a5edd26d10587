"""A dataset's first rows as JSON, read through DuckDB."""

from __future__ import annotations

import base64
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from flowservice.lake import Dataset, preview

DEFAULT_PREVIEW_ROWS = 100


def json_value(value: Any) -> Any:
    """Exact and portable: decimals as strings, binary as base64, times as ISO 8601."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: json_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_value(v) for v in value]
    return value


def preview_body(dataset: Dataset, limit: int) -> dict[str, Any]:
    table = preview(dataset, limit)
    rows = [{k: json_value(v) for k, v in row.items()} for row in table.to_pylist()]
    fields = [f.to_dict() for f in dataset.fields() or ()]
    return {"data": rows, "count": len(rows), "fields": fields}
