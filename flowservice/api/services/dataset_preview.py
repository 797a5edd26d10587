"""A dataset's first rows as JSON, read through DuckDB."""

from __future__ import annotations

import base64
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from flowservice.api.services.json_decimals import decimal_json
from flowservice.lake import Dataset, preview

DEFAULT_PREVIEW_ROWS = 100


def json_value(value: Any, *, decimals_as_strings: bool = False) -> Any:
    """Exact and portable: decimals as numbers when exact in a double (else strings), binary
    as base64, times as ISO 8601."""
    if isinstance(value, Decimal):
        return decimal_json(value, as_string=decimals_as_strings)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: json_value(v, decimals_as_strings=decimals_as_strings) for k, v in value.items()}
    if isinstance(value, list):
        return [json_value(v, decimals_as_strings=decimals_as_strings) for v in value]
    return value


def preview_body(
    dataset: Dataset, limit: int, *, decimals_as_strings: bool = False
) -> dict[str, Any]:
    table = preview(dataset, limit)
    rows = [
        {k: json_value(v, decimals_as_strings=decimals_as_strings) for k, v in row.items()}
        for row in table.to_pylist()
    ]
    fields = [f.to_dict() for f in dataset.fields() or ()]
    return {"data": rows, "count": len(rows), "fields": fields}
