"""Monitoring overview: records ingested per day (or hour) in the sandbox or one flow's dataset.

The numbers are Observability Insights' ``recordsuccess`` metric, computed by
``observability.insights.answer`` exactly as the API's ``/metrics`` route does;
a flow's chart is that metric filtered to its target connections' datasets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from markupsafe import Markup

from flowservice.api.routes import flows as flow_routes
from flowservice.api.runtime import Runtime
from flowservice.console.access import runtime_of
from flowservice.console.page_runner import show_page
from flowservice.console.pages_runs import FLOW_KIND, flow_heading
from flowservice.console.paging import list_params
from flowservice.console.rendering import render
from flowservice.console.session_store import ConsoleSession
from flowservice.console.svg_chart import Bar, bar_chart
from flowservice.flows.run_context import TARGET_CONNECTION_KIND
from flowservice.observability import insights
from flowservice.observability import insights_request as req
from flowservice.observability.buckets import wire_time
from flowservice.store.repos import resources
from flowservice.store.repos.resources import Scope

router = APIRouter()

RANGES = (1, 2, 7, 14, 30, 90)  # days the range select offers
DEFAULT_DAYS = 7
HOURLY_UP_TO_DAYS = 2
FLOW_CHOICES = 100


@dataclass(frozen=True)
class Series:
    granularity: str  # HOUR or DAY
    bars: list[Bar]

    @property
    def total(self) -> int:
        return sum(bar.value for bar in self.bars)


def ingestion_query(days: int, dataset_ids: tuple[str, ...], now: datetime) -> req.InsightsQuery:
    """The last ``days`` days up to ``now``: hourly buckets for a short range, else daily."""
    if days <= HOURLY_UP_TO_DAYS:
        granularity, start = "HOUR", now - timedelta(hours=days * 24 - 1)
    else:
        granularity, start = "DAY", now - timedelta(days=days - 1)
    metric = req.MetricQuery(req.RECORD_SUCCESS, dataset_ids, False, ())
    return req.InsightsQuery(start, now, granularity, (metric,))


def flow_datasets(runtime: Runtime, scope: Scope, flow_id: str) -> tuple[str, ...]:
    """The datasets a flow writes to: its target connections' ``dataSetId`` params."""
    with runtime.transaction() as session:
        flow = resources.get_resource(session, scope=scope, kind=FLOW_KIND, resource_id=flow_id)
        target_ids = [str(t) for t in flow.doc.get("targetConnectionIds") or []]
        targets = resources.list_resources(
            session, scope=scope, kind=TARGET_CONNECTION_KIND, ids=target_ids
        )
        found = ((t.doc.get("params") or {}).get("dataSetId") for t in targets)
        return tuple(sorted({str(d) for d in found if d}))


def ingestion_series(
    runtime: Runtime, scope: Scope, *, days: int, flow_id: str | None, now: datetime
) -> Series:
    dataset_ids = flow_datasets(runtime, scope, flow_id) if flow_id else ()
    query = ingestion_query(days, dataset_ids, now)
    if flow_id and not dataset_ids:
        # an empty filter means "every dataset": a flow without a dataset has ingested nothing
        points = {start: 0.0 for start in query.buckets}
    else:
        with runtime.transaction() as session:
            answer = insights.answer(session, scope=scope, query=query)
        dps = answer[0]["datapoints"][0]["dps"]
        points = {start: dps[wire_time(start)] for start in query.buckets}
    return Series(query.granularity, [_bar(s, v, query.granularity) for s, v in points.items()])


def _bar(start: datetime, value: float, granularity: str) -> Bar:
    if granularity == "HOUR":
        return Bar(start.strftime("%H:00"), start.strftime("%Y-%m-%d %H:00 UTC"), int(value))
    return Bar(start.strftime("%b %d"), start.strftime("%Y-%m-%d"), int(value))


def chart_svg(series: Series, *, days: int, subject: str) -> str:
    unit = "hour" if series.granularity == "HOUR" else "day"
    peak = max(series.bars, key=lambda bar: bar.value)
    return bar_chart(
        series.bars,
        title=f"Records ingested per {unit} in {subject}, last {days} days",
        description=(
            f"{len(series.bars)} bars, one per {unit}; {series.total:,} records in all; "
            f"the most, {peak.value:,}, on {peak.long_label}. The table below has every value."
        ),
        y_label="records",
        chart_id="ingestion",
    )


def _flow_choices(runtime: Runtime, scope: Scope, selected: dict[str, str] | None) -> list[Any]:
    page = flow_routes.list_flows(runtime, scope, list_params(orderby="name", limit=FLOW_CHOICES))
    choices = [{"id": f["id"], "name": f.get("name") or f["id"]} for f in page["items"]]
    if selected is not None and selected["id"] not in {c["id"] for c in choices}:
        choices.insert(0, selected)
    return choices


def range_days(value: str) -> int:
    """One of the offered ranges; anything else (absent, not a number) is the default."""
    return int(value) if value in {str(n) for n in RANGES} else DEFAULT_DAYS


@router.get("/monitoring")
def monitoring(request: Request, days: str = "", flow: str = "") -> Response:
    runtime = runtime_of(request)
    span = range_days(days)

    def build(user: ConsoleSession, scope: Scope) -> Response:
        selected = flow_heading(runtime, scope, flow) if flow else None
        series = ingestion_series(
            runtime, scope, days=span, flow_id=flow or None, now=datetime.now(UTC)
        )
        subject = f"dataflow {selected['name']}" if selected else f"sandbox {scope.sandbox_name}"
        return render(
            request,
            "monitoring.html",
            user=user,
            days=span,
            ranges=RANGES,
            flows=_flow_choices(runtime, scope, selected),
            selected=selected,
            subject=subject,
            series=series,
            # every text in the SVG is escaped by svg_chart
            chart=Markup(chart_svg(series, days=span, subject=subject)) if series.total else "",
        )

    return show_page(request, build)
