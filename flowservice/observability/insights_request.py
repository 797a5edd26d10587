"""The Observability Insights metrics request: parsed and checked before anything is read.

A bad payload (unknown metric, start after end, unsupported aggregator,
unknown granularity, too many points) raises ``InsightsRequestInvalid``,
Adobe's ``INSGHT-1000-400`` "Bad request payload".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flowservice.errors import InvalidRequest
from flowservice.observability.buckets import GRANULARITIES, bucket_starts

RECORD_SUCCESS = "timeseries.ingestion.dataset.recordsuccess.count"
BATCH_SUCCESS = "timeseries.ingestion.dataset.batchsuccess.count"
BATCH_FAILED = "timeseries.ingestion.dataset.batchfailed.count"
DAILY_SIZE = "timeseries.ingestion.dataset.dailysize"
SIZE = "timeseries.ingestion.dataset.size"
METRICS = (RECORD_SUCCESS, BATCH_SUCCESS, BATCH_FAILED, DAILY_SIZE, SIZE)
AGGREGATORS = ("sum", "zimsum")
DATASET_FILTERS = ("datasetid", "datasets")
MAX_POINTS = 1000  # per series: the route answers in one body, without paging
MAX_METRICS = 10
DEFAULT_RANGE = timedelta(days=30)
FIRST_YEAR, LAST_YEAR = 1970, 9998


class InsightsRequestInvalid(InvalidRequest):
    """Adobe's ``INSGHT-1000-400``: something is wrong with the metrics request."""

    code = 1000
    title = "Bad request payload"
    service = "INSGHT"


@dataclass(frozen=True)
class MetricQuery:
    name: str
    dataset_ids: tuple[str, ...]  # empty: every dataset of the sandbox
    group_by: bool
    filters: tuple[dict[str, Any], ...]  # as echoed in the answer


@dataclass(frozen=True)
class InsightsQuery:
    start: datetime
    end: datetime
    granularity: str
    metrics: tuple[MetricQuery, ...]

    @property
    def buckets(self) -> list[datetime]:
        return bucket_starts(self.start, self.end, self.granularity)


def parse_moment(value: Any, field: str) -> datetime:
    if not isinstance(value, str) or not value.strip():
        raise InsightsRequestInvalid(f"{field} must be an ISO 8601 date-time string.")
    try:
        moment = datetime.fromisoformat(value.strip())
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise InsightsRequestInvalid(f"{field} is not an ISO 8601 date-time.") from None
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        # buckets past the range's end must still be representable
        raise InsightsRequestInvalid(f"{field} must fall in the years {FIRST_YEAR} to {LAST_YEAR}.")
    return moment


def check_range(start: datetime, end: datetime, granularity: str) -> None:
    if start > end:
        raise InsightsRequestInvalid("Start date cannot be after end date.")
    if granularity not in GRANULARITIES:
        names = ", ".join(GRANULARITIES)
        raise InsightsRequestInvalid(f"granularity must be one of {names}.")
    if len(bucket_starts(start, end, granularity, limit=MAX_POINTS + 1)) > MAX_POINTS:
        raise InsightsRequestInvalid(
            f"The date range holds more than {MAX_POINTS} {granularity} points; "
            "choose a larger granularity or a shorter range."
        )


def parse_query(body: Any) -> InsightsQuery:
    """The V2 (POST) body: ``start``, ``end``, ``granularity`` and ``metrics``."""
    if not isinstance(body, dict):
        raise InsightsRequestInvalid("The request body must be a JSON object.")
    start = parse_moment(body.get("start"), "start")
    end = parse_moment(body.get("end"), "end")
    granularity_value = body.get("granularity", "DAY")
    if not isinstance(granularity_value, str):
        raise InsightsRequestInvalid("granularity must be a string such as DAY.")
    granularity = granularity_value.strip().upper()
    check_range(start, end, granularity)
    metrics = body.get("metrics")
    if not isinstance(metrics, list) or not metrics:
        raise InsightsRequestInvalid("metrics must be a non-empty array of metric objects.")
    if len(metrics) > MAX_METRICS:
        raise InsightsRequestInvalid(f"At most {MAX_METRICS} metrics can be asked at once.")
    return InsightsQuery(start, end, granularity, tuple(_metric(m) for m in metrics))


def metric_name(value: Any) -> str:
    if not isinstance(value, str) or value not in METRICS:
        shown = value if isinstance(value, str) and len(value) <= 200 else "(not a name)"
        raise InsightsRequestInvalid(
            f"Invalid metric {shown}; flowservice answers {', '.join(METRICS)}."
        )
    return value


def _metric(item: Any) -> MetricQuery:
    if not isinstance(item, dict):
        raise InsightsRequestInvalid("Each item of metrics must be an object.")
    name = metric_name(item.get("name"))
    aggregator = item.get("aggregator")
    if aggregator is None:
        raise InsightsRequestInvalid(f"{name}: aggregator is required (use sum).")
    if not isinstance(aggregator, str) or aggregator.lower() not in AGGREGATORS:
        raise InsightsRequestInvalid(f"{name}: the aggregator must be sum.")
    downsample = item.get("downsample", "sum")
    if not isinstance(downsample, str) or downsample.lower() not in AGGREGATORS:
        raise InsightsRequestInvalid(f"{name}: downsample must be sum.")
    filters = item.get("filters") or []
    if not isinstance(filters, list):
        raise InsightsRequestInvalid(f"{name}: filters must be an array.")
    ids: list[str] = []
    group_by = False
    echoed = []
    for entry in filters:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise InsightsRequestInvalid(f"{name}: each filter needs a name and a value.")
        if entry["name"].lower() not in DATASET_FILTERS:
            raise InsightsRequestInvalid(f"{name}: only dataSetId filters are supported.")
        value, flag = entry.get("value"), entry.get("groupBy", False)
        if not isinstance(value, str) or not isinstance(flag, bool):
            raise InsightsRequestInvalid(
                f"{name}: a filter's value is a string of ids separated by |, groupBy a boolean."
            )
        ids.extend(part.strip() for part in value.split("|") if part.strip())
        group_by = group_by or flag
        echoed.append({"name": entry["name"], "value": value, "groupBy": flag})
    unique = tuple(dict.fromkeys(ids))
    return MetricQuery(name, unique, group_by and bool(unique), tuple(echoed))


def parse_v1(metrics: list[str], resource_id: str | None, date_range: str | None) -> InsightsQuery:
    """The deprecated V1 (GET) query: ``metric`` (1 to 6), ``id`` and ``dateRange`` start/end."""
    if not 1 <= len(metrics) <= 6:
        raise InsightsRequestInvalid("Give between 1 and 6 metric parameters.")
    if date_range:
        start_text, sep, end_text = date_range.partition("/")
        if not sep:
            raise InsightsRequestInvalid("dateRange must be START/END in ISO 8601.")
        start, end = parse_moment(start_text, "dateRange start"), parse_moment(end_text, "end")
    else:
        end = datetime.now(UTC)
        start = end - DEFAULT_RANGE
    check_range(start, end, "DAY")
    ids = (resource_id,) if resource_id else ()
    queries = tuple(MetricQuery(metric_name(m), ids, False, ()) for m in dict.fromkeys(metrics))
    return InsightsQuery(start, end, "DAY", queries)
