"""Observability Insights ``/metrics``: ingestion counts per dataset of the caller's sandbox.

V2 (POST, a body of metrics with dataset filters, a date range and a
granularity) and the deprecated V1 (GET with query parameters). The values
come from Catalog batches and runs (``observability.insights``).

Adobe's documented request sends its JSON with ``curl -d`` and no
Content-Type (the document accepts ``*/*``), so this body is read as JSON
whatever its Content-Type says.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from flowservice.api.deps import RuntimeDep, ScopeDep
from flowservice.api.input_limits import load_json
from flowservice.observability import insights
from flowservice.observability.buckets import GRANULARITIES
from flowservice.observability.insights_request import (
    AGGREGATORS,
    MAX_METRICS,
    METRICS,
    InsightsRequestInvalid,
    parse_query,
    parse_v1,
)

OBSERVABILITY_PREFIX = "/data/infrastructure/observability/insights"
METRIC_SCHEMA = {
    "type": "object",
    "required": ["name", "aggregator"],
    "properties": {
        "name": {"type": "string", "enum": list(METRICS)},
        "aggregator": {"type": "string", "enum": list(AGGREGATORS)},
        "downsample": {"type": "string", "enum": list(AGGREGATORS)},
        "filters": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "value"],
                "properties": {
                    "name": {"type": "string", "enum": ["dataSetId", "dataSets"]},
                    "value": {"type": "string", "description": "Dataset ids separated by |"},
                    "groupBy": {"type": "boolean"},
                },
            },
        },
    },
}
REQUEST_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["start", "end", "metrics"],
                "properties": {
                    "start": {"type": "string", "description": "ISO 8601 date-time"},
                    "end": {"type": "string", "description": "ISO 8601, not before start"},
                    "granularity": {
                        "type": "string",
                        "enum": [*GRANULARITIES, *(g.lower() for g in GRANULARITIES)],
                    },
                    "metrics": {
                        "type": "array",
                        "minItems": 1,
                        "maxItems": MAX_METRICS,
                        "items": METRIC_SCHEMA,
                    },
                },
            }
        }
    },
}

router = APIRouter(prefix=OBSERVABILITY_PREFIX, tags=["Observability Insights"])


async def read_any_json(request: Request) -> Any:
    """The body parsed as JSON within the service's input limits, whatever its Content-Type."""
    raw = await request.body()
    if not raw.strip():
        raise InsightsRequestInvalid("The request body is empty.")
    try:
        return load_json(raw.decode(json.detect_encoding(raw)), what="The request body")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InsightsRequestInvalid("The request body is not valid JSON.") from None


AnyJsonBody = Annotated[Any, Depends(read_any_json)]


@router.post(
    "/metrics",
    summary="Ingestion metrics per dataset over a date range (recordsuccess, batches, size)",
    openapi_extra={"requestBody": REQUEST_BODY},
)
def metrics_v2(runtime: RuntimeDep, scope: ScopeDep, body: AnyJsonBody) -> dict[str, Any]:
    query = parse_query(body)
    with runtime.transaction() as session:
        return {"metricResponses": insights.answer(session, scope=scope, query=query)}


@router.get(
    "/metrics",
    summary="Ingestion metrics (deprecated V1): ?metric=...&id=DATASET&dateRange=START/END",
    deprecated=True,
)
def metrics_v1(
    runtime: RuntimeDep,
    scope: ScopeDep,
    metric: Annotated[list[str], Query(description="Metric names, 1 to 6")],
    id: Annotated[str | None, Query(description="A dataset id")] = None,
    date_range: Annotated[
        str | None, Query(alias="dateRange", description="START/END, ISO 8601 (default 30 days)")
    ] = None,
) -> dict[str, Any]:
    query = parse_v1(metric, id, date_range)
    with runtime.transaction() as session:
        return insights.answer_v1(session, scope=scope, query=query, resource_id=id)
