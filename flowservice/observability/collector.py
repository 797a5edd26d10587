"""The Prometheus collector of ``GET /metrics``: values read from the metadata DB at scrape time.

Runs execute in other threads, processes and Celery workers, so nothing is
counted in this process: each scrape runs three aggregate queries
(``run_stats``) plus one per extra sample source. Values that a deleted or
re-triggered run makes go down (records, durations) are gauges or a
histogram of the runs stored now, never ``_total`` counters; see
``docs/metrics.md``. Labels are ids (org id, sandbox name, state, outcome),
never names of resources, tables or connection details.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session, sessionmaker

from flowservice.flows.persistence.runs import to_us
from flowservice.observability import run_stats
from flowservice.store import db

# a sample source adds metric families read with the scrape's session (e.g. alert deliveries)
SampleSource = Callable[[Session], Iterable[Metric]]
Clock = Callable[[], datetime]

# run durations in seconds: copies take from a second to hours
DURATION_BOUNDS: tuple[float, ...] = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600)
SCOPE_LABELS = ["org_id", "sandbox"]
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _now() -> datetime:
    return datetime.now(UTC)


class RunMetricsCollector(Collector):
    """Runs by state, records, durations, queue depth and scheduler lag, for every org."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        sources: Sequence[SampleSource] = (),
        clock: Clock = _now,
    ) -> None:
        self._sessions = sessions
        self._sources = tuple(sources)
        self._clock = clock

    def collect(self) -> Iterator[Metric]:
        with db.transaction(self._sessions) as session:
            now_us = to_us(self._clock())
            families: list[Metric] = [
                runs_gauge(run_stats.runs_by_state(session)),
                *finished_families(run_stats.finished_runs(session, bounds=DURATION_BOUNDS)),
                *queue_gauges(run_stats.queue(session, now_us=now_us), now_us=now_us),
            ]
            for source in self._sources:
                families.extend(source(session))
        yield from families


def runs_gauge(counts: Iterable[run_stats.StateCount]) -> Metric:
    gauge = GaugeMetricFamily(
        "flowservice_runs",
        "Runs stored now, by status (scheduled, inProgress, success, failed, cancelled).",
        labels=[*SCOPE_LABELS, "state"],
    )
    for c in counts:
        gauge.add_metric([c.org_id, c.sandbox, c.state], c.runs)
    return gauge


def finished_families(rows: Sequence[run_stats.FinishedRuns]) -> list[Metric]:
    """Records of the finished runs (gauges) and their durations (a histogram)."""
    records = {
        "read": ("flowservice_run_records_read", "Records read from sources"),
        "written": ("flowservice_run_records_written", "Records written to datasets"),
        "failed": ("flowservice_run_records_failed", "Records that failed mapping or casting"),
    }
    gauges = {
        key: GaugeMetricFamily(
            name, f"{text} by the finished runs stored now.", labels=SCOPE_LABELS
        )
        for key, (name, text) in records.items()
    }
    totals: dict[tuple[str, str], list[int]] = {}
    durations = HistogramMetricFamily(
        "flowservice_run_duration_seconds",
        "Start-to-end durations of the finished runs stored now, by final status.",
        labels=[*SCOPE_LABELS, "state"],
    )
    for row in rows:
        sums = totals.setdefault((row.org_id, row.sandbox), [0, 0, 0])
        sums[0] += row.records_read
        sums[1] += row.records_written
        sums[2] += row.records_failed
        durations.add_metric(
            [row.org_id, row.sandbox, row.state],
            buckets=histogram_buckets(row.buckets, row.timed),
            sum_value=row.duration_seconds,
        )
    for (org, sandbox), sums in totals.items():
        for gauge, value in zip(gauges.values(), sums, strict=True):
            gauge.add_metric([org, sandbox], value)
    return [*gauges.values(), durations]


def histogram_buckets(cumulative: Sequence[int], count: int) -> list[tuple[str, float]]:
    """``(le, count)`` pairs for ``DURATION_BOUNDS`` and ``+Inf`` (which holds ``count``)."""
    bounds = [_le(b) for b in DURATION_BOUNDS]
    return [*zip(bounds, map(float, cumulative), strict=True), ("+Inf", float(count))]


def _le(bound: float) -> str:
    return str(float(bound))


def queue_gauges(queue: run_stats.Queue, *, now_us: int) -> list[Metric]:
    depth = GaugeMetricFamily(
        "flowservice_run_queue_depth",
        "Scheduled runs whose start time has come and that no worker has started yet.",
        value=queue.due,
    )
    late_us = 0 if queue.oldest_due_us is None else max(0, now_us - queue.oldest_due_us)
    lag = GaugeMetricFamily(
        "flowservice_scheduler_lag_seconds",
        "How late the oldest due, not yet started scheduled run is (0 when none waits).",
        value=late_us / run_stats.US_PER_SECOND,
    )
    return [depth, lag]


def delivery_outcomes(counts_of: Callable[[Session], Mapping[str, int]]) -> SampleSource:
    """A sample source of alert webhook deliveries by outcome, from ``counts_of(session)``."""

    def source(session: Session) -> list[Metric]:
        gauge = GaugeMetricFamily(
            "flowservice_alert_deliveries",
            "Alert webhook deliveries stored now, by outcome.",
            labels=["outcome"],
        )
        for outcome, count in sorted(counts_of(session).items()):
            gauge.add_metric([outcome], count)
        return [gauge]

    return source


def render(collector: Collector) -> bytes:
    """The Prometheus text exposition of ``collector`` alone (no process-global registry)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return generate_latest(registry)
