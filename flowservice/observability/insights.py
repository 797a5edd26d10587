"""Observability Insights ingestion metrics of one org and sandbox, from Catalog batches and runs.

A batch row (``flows.persistence.batches``) counts at its ``completed`` time:
a ``success`` batch adds one batch, its ``recordCount`` records and its
``size`` bytes; a ``failed`` batch one failed batch. A failed run counts one
failed batch for the dataset of its target connection (a failed run commits
nothing, so it has no batch row). Reads O(batches and failed runs of the
sandbox in the range); ``timeseries.ingestion.dataset.size`` (cumulative)
also reads the batches before the range.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from flowservice.flows.persistence.batches import BATCH_KIND
from flowservice.flows.persistence.runs import RUN_KIND
from flowservice.flows.run_context import TARGET_CONNECTION_KIND
from flowservice.flows.run_state import RunStatus
from flowservice.flows.schedule import to_epoch_ms
from flowservice.observability import insights_request as req
from flowservice.observability.buckets import next_bucket, wire_time
from flowservice.observability.run_stats import json_int
from flowservice.store.repos.resources import Scope
from flowservice.store.tables import Resource

SUCCESS, FAILED = "success", "failed"


@dataclass(frozen=True)
class Event:
    """One ingestion outcome of a dataset at ``at_ms`` (epoch ms)."""

    dataset_id: str
    at_ms: int
    succeeded: bool
    records: int = 0
    size: int = 0


def metric_value(name: str, event: Event) -> float:
    if name == req.BATCH_FAILED:
        return 0.0 if event.succeeded else 1.0
    if not event.succeeded:
        return 0.0
    if name == req.BATCH_SUCCESS:
        return 1.0
    if name == req.RECORD_SUCCESS:
        return float(event.records)
    return float(event.size)  # dailysize and size


def _scoped(scope: Scope, kind: str) -> list[Any]:
    return [Resource.kind == kind, Resource.org_id == scope.org_id,
            Resource.sandbox_id == scope.sandbox_id]  # fmt: skip


def batch_events(
    session: Session, *, scope: Scope, since_ms: int | None, until_ms: int, ids: Sequence[str]
) -> list[Event]:
    completed = json_int("completed")
    query = select(
        Resource.parent_id,
        Resource.state,
        completed,
        json_int("recordCount"),
        json_int("size"),
    ).where(*_scoped(scope, BATCH_KIND), completed < until_ms)
    if since_ms is not None:
        query = query.where(completed >= since_ms)
    if ids:
        query = query.where(Resource.parent_id.in_(ids))
    return [
        Event(str(dataset), int(at), state == SUCCESS, int(records or 0), int(size or 0))
        for dataset, state, at, records, size in session.execute(query)
        if state in (SUCCESS, FAILED) and at is not None
    ]


def failed_run_events(
    session: Session, *, scope: Scope, since_ms: int, until_ms: int, ids: Sequence[str]
) -> list[Event]:
    completed = json_int("run", "completedAt")
    rows = session.execute(
        select(Resource.doc["run"]["targetConnectionIds"], completed).where(
            *_scoped(scope, RUN_KIND),
            Resource.state == str(RunStatus.FAILED),
            completed >= since_ms * 1000,
            completed < until_ms * 1000,
        )
    ).all()
    targets = {str(t[0]) for t, _ in rows if isinstance(t, list) and t}
    datasets = _target_datasets(session, scope, targets)
    wanted = set(ids)
    events = []
    for target_ids, at_us in rows:
        dataset = datasets.get(str(target_ids[0])) if target_ids else None
        if dataset is not None and (not wanted or dataset in wanted):
            events.append(Event(dataset, int(at_us) // 1000, succeeded=False))
    return events


def _target_datasets(session: Session, scope: Scope, target_ids: Iterable[str]) -> dict[str, str]:
    ids = sorted(target_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(Resource.id, Resource.doc["params"]["dataSetId"].as_string()).where(
            *_scoped(scope, TARGET_CONNECTION_KIND), Resource.id.in_(ids)
        )
    )
    return {str(tid): str(ds) for tid, ds in rows if ds}


def answer(session: Session, *, scope: Scope, query: req.InsightsQuery) -> list[dict[str, Any]]:
    """One ``metricResponses`` item per asked metric, with a point for every bucket."""
    starts = query.buckets
    edges = [to_epoch_ms(s) for s in starts]
    until = to_epoch_ms(next_bucket(starts[-1], query.granularity))
    ids = sorted({i for m in query.metrics for i in m.dataset_ids})
    if any(not m.dataset_ids for m in query.metrics):
        ids = []  # some metric covers every dataset: read them all, filter per metric below
    cumulative = any(m.name == req.SIZE for m in query.metrics)
    events = batch_events(
        session, scope=scope, since_ms=None if cumulative else edges[0], until_ms=until, ids=ids
    )
    if any(m.name == req.BATCH_FAILED for m in query.metrics):
        events += failed_run_events(
            session, scope=scope, since_ms=edges[0], until_ms=until, ids=ids
        )
    return [_metric_response(m, events, edges, starts, query.granularity) for m in query.metrics]


def _metric_response(
    metric: req.MetricQuery,
    events: Sequence[Event],
    edges: Sequence[int],
    starts: Sequence[Any],
    granularity: str,
) -> dict[str, Any]:
    wanted = set(metric.dataset_ids)
    series: dict[str, list[float]] = defaultdict(lambda: [0.0] * len(edges))
    baseline: dict[str, float] = defaultdict(float)
    for event in events:
        if wanted and event.dataset_id not in wanted:
            continue
        key = event.dataset_id if metric.group_by else ""
        index = bisect_right(edges, event.at_ms) - 1
        value = metric_value(metric.name, event)
        if index < 0:
            baseline[key] += value  # before the range: only the cumulative size keeps it
        else:
            series[key][index] += value
    keys = list(metric.dataset_ids) if metric.group_by else [""]
    datapoints = []
    for key in keys:
        values = series[key]
        if metric.name == req.SIZE:
            running, values = baseline[key], list(values)
            for i, v in enumerate(values):
                running += v
                values[i] = running
        datapoints.append(
            {
                "groupBy": {"dataSetId": key} if key else {},
                "dps": {wire_time(s): v for s, v in zip(starts, values, strict=True)},
            }
        )
    return {
        "metric": metric.name,
        "name": metric.name,
        "filters": [dict(f) for f in metric.filters],
        "datapoints": datapoints,
        "granularity": granularity,
    }


def answer_v1(
    session: Session, *, scope: Scope, query: req.InsightsQuery, resource_id: str | None
) -> dict[str, Any]:
    """The deprecated V1 shape: one item per bucket, newest first, every metric in it."""
    responses = answer(session, scope=scope, query=query)
    stamps = list(responses[0]["datapoints"][0]["dps"]) if responses else []
    items = [
        {
            "timestamp": stamp,
            "metrics": {r["metric"]: r["datapoints"][0]["dps"][stamp] for r in responses},
        }
        for stamp in reversed(stamps)
    ]
    out: dict[str, Any] = {
        "imsOrgId": scope.org_id,
        "timeseries": {"granularity": query.granularity, "items": items},
        "stats": {},
    }
    if resource_id:
        out["id"] = resource_id
    return out
