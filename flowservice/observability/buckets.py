"""Time buckets of the Observability Insights answers: UTC hours, days, ISO weeks, months."""

from __future__ import annotations

from datetime import datetime, timedelta

GRANULARITIES = ("HOUR", "DAY", "WEEK", "MONTH")


def bucket_start(moment: datetime, granularity: str) -> datetime:
    """The start of the bucket holding ``moment`` (an aware UTC datetime)."""
    if granularity == "HOUR":
        return moment.replace(minute=0, second=0, microsecond=0)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if granularity == "DAY":
        return day
    if granularity == "WEEK":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def next_bucket(start: datetime, granularity: str) -> datetime:
    if granularity == "HOUR":
        return start + timedelta(hours=1)
    if granularity == "DAY":
        return start + timedelta(days=1)
    if granularity == "WEEK":
        return start + timedelta(weeks=1)
    year, month = divmod(start.month, 12)
    return start.replace(year=start.year + year, month=month + 1)


def bucket_starts(
    start: datetime, end: datetime, granularity: str, *, limit: int | None = None
) -> list[datetime]:
    """The buckets from the one holding ``start`` to the one holding ``end`` (``limit`` at most)."""
    out: list[datetime] = []
    current, last = bucket_start(start, granularity), bucket_start(end, granularity)
    while current <= last and (limit is None or len(out) < limit):
        out.append(current)
        current = next_bucket(current, granularity)
    return out


def wire_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
