"""Observability Insights buckets and request checks (no server)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flowservice.observability.buckets import bucket_starts, wire_time
from flowservice.observability.insights_request import (
    InsightsRequestInvalid,
    parse_query,
    parse_v1,
)


def _stamps(start: str, end: str, granularity: str) -> list[str]:
    begin, finish = datetime.fromisoformat(start), datetime.fromisoformat(end)
    return [wire_time(s) for s in bucket_starts(begin, finish, granularity)]


def test_weeks_start_on_monday_and_months_roll_over_the_year() -> None:
    # 2026-12-03 is a Thursday
    assert _stamps("2026-12-03T10:00:00+00:00", "2026-12-14T00:00:00+00:00", "WEEK") == [
        "2026-11-30T00:00:00Z",
        "2026-12-07T00:00:00Z",
        "2026-12-14T00:00:00Z",
    ]
    assert _stamps("2026-11-15T00:00:00+00:00", "2027-01-02T00:00:00+00:00", "MONTH") == [
        "2026-11-01T00:00:00Z",
        "2026-12-01T00:00:00Z",
        "2027-01-01T00:00:00Z",
    ]
    assert _stamps("2026-12-03T23:59:00+00:00", "2026-12-04T00:00:00+00:00", "HOUR") == [
        "2026-12-03T23:00:00Z",
        "2026-12-04T00:00:00Z",
    ]


def test_times_without_a_zone_are_utc_and_granularity_is_case_blind() -> None:
    query = parse_query(
        {
            "start": "2026-07-14T00:00:00",
            "end": "2026-07-14T02:00:00.000+02:00",
            "granularity": "Hour",
            "metrics": [{"name": "timeseries.ingestion.dataset.size", "aggregator": "SUM"}],
        }
    )
    assert query.start == datetime(2026, 7, 14, tzinfo=UTC) == query.end
    assert query.granularity == "HOUR" and len(query.buckets) == 1
    assert query.metrics[0].dataset_ids == () and not query.metrics[0].group_by


def test_filters_merge_their_ids_once() -> None:
    query = parse_query(
        {
            "start": "2026-07-14T00:00:00Z",
            "end": "2026-07-15T00:00:00Z",
            "metrics": [
                {
                    "name": "timeseries.ingestion.dataset.batchsuccess.count",
                    "aggregator": "sum",
                    "filters": [
                        {"name": "dataSetId", "value": "a| b|a", "groupBy": True},
                        {"name": "dataSets", "value": "c"},
                    ],
                }
            ],
        }
    )
    (metric,) = query.metrics
    assert metric.dataset_ids == ("a", "b", "c") and metric.group_by
    assert query.granularity == "DAY"


@pytest.mark.parametrize(
    "args",
    [
        ([], None, None),
        (["timeseries.ingestion.dataset.size"] * 7, None, None),
        (["timeseries.ingestion.dataset.size"], None, "2026-07-14T00:00:00Z"),
        (["timeseries.ingestion.dataset.size"], None, "2026-07-15T00:00:00Z/2026-07-14T00:00:00Z"),
        (["timeseries.ingestion.dataset.size"], None, "9999-12-31T00:00:00Z/9999-12-31T23:00:00Z"),
        (["timeseries.ingestion.dataset.size"], None, "0001-01-01T00:00:00+05:00/2026-01-01"),
    ],
)
def test_v1_queries_are_checked(args: tuple[list[str], str | None, str | None]) -> None:
    with pytest.raises(InsightsRequestInvalid) as raised:
        parse_v1(*args)
    assert (raised.value.code, raised.value.status) == (1000, 400)


def test_v1_defaults_to_the_last_30_days() -> None:
    query = parse_v1(["timeseries.ingestion.dataset.size"], "ds", None)
    assert len(query.buckets) == 31 and query.metrics[0].dataset_ids == ("ds",)
