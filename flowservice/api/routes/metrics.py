"""``GET /metrics``: Prometheus text for operators, unauthenticated like other exporters.

It shows counts labelled by org id, sandbox name and state, never resource
names, table names or connection details; ``metrics_enabled = false`` turns it
off (404). Left out of the OpenAPI document: it is not part of Adobe's API.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from flowservice.alerts import delivery_counts
from flowservice.api.deps import RuntimeDep
from flowservice.errors import NotFound
from flowservice.observability.collector import (
    CONTENT_TYPE,
    RunMetricsCollector,
    SampleSource,
    delivery_outcomes,
    render,
)

router = APIRouter(tags=["Service"])

# sample sources beyond the runs' own, wired into every scrape
EXTRA_SOURCES: tuple[SampleSource, ...] = (delivery_outcomes(delivery_counts),)


@router.get("/metrics", include_in_schema=False)
def prometheus_metrics(runtime: RuntimeDep) -> Response:
    if not runtime.settings.metrics_enabled:
        raise NotFound("/metrics is turned off (metrics_enabled = false)")
    collector = RunMetricsCollector(runtime.sessions, sources=EXTRA_SOURCES)
    return Response(content=render(collector), media_type=CONTENT_TYPE)
