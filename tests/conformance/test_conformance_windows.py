"""Incremental windows are half-open [start, end) in UTC; windows that tile cover rows once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise
from typing import Any

import pyarrow as pa
import pytest
from cases.base import INT, TIMESTAMP, SourceCase
from hypothesis import given, settings
from hypothesis import strategies as st

from flowservice.connectors.base import Connector, ReadWindow
from flowservice.errors import InvalidRequest

T0 = datetime(2024, 3, 1)
ROWS = 48  # one an hour, plus rows a microsecond either side of some hours


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def source_rows() -> list[dict[str, Any]]:
    rows = [{"id": h, "at": at(h)} for h in range(ROWS)]
    tick = timedelta(microseconds=1)
    rows += [{"id": 1000 + h, "at": at(h) - tick} for h in (10, 20)]
    rows += [{"id": 2000 + h, "at": at(h) + tick} for h in (10, 20)]
    return rows


ROWS_AT = {row["id"]: row["at"] for row in source_rows()}


@pytest.fixture(scope="module")
def table(case: SourceCase) -> str:
    ddl = f"id {case.ddl(INT)} NOT NULL PRIMARY KEY, at {case.ddl(TIMESTAMP)} NOT NULL"
    return case.create_table("wn_events", ddl, source_rows())


def ids_in(connector: Connector, table: str, window: ReadWindow) -> list[int]:
    batches = list(connector.read(table, window=window))
    return sorted(pa.Table.from_batches(batches).column("id").to_pylist()) if batches else []


def expected(start: datetime | None, end: datetime | None) -> list[int]:
    return sorted(
        i
        for i, moment in ROWS_AT.items()
        if (start is None or moment >= start) and (end is None or moment < end)
    )


def utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC)


def test_start_is_included_and_end_excluded(connector: Connector, table: str) -> None:
    got = ids_in(connector, table, ReadWindow("at", utc(at(10)), utc(at(20))))
    assert got == expected(at(10), at(20))
    assert 10 in got and 2010 in got and 1020 in got
    assert 1010 not in got and 20 not in got and 2020 not in got


@pytest.mark.parametrize(
    ("start", "end"),
    [(None, 10), (20, None), (None, None), (10, 10), (20, 10), (-5, 0), (ROWS, ROWS + 5)],
)
def test_open_sides_and_empty_windows(
    connector: Connector, table: str, start: int | None, end: int | None
) -> None:
    start_at = None if start is None else at(start)
    end_at = None if end is None else at(end)
    window = ReadWindow(
        "at",
        None if start_at is None else utc(start_at),
        None if end_at is None else utc(end_at),
    )
    assert ids_in(connector, table, window) == expected(start_at, end_at)


def test_bounds_are_instants_whatever_their_offset(connector: Connector, table: str) -> None:
    plus_two = timezone(timedelta(hours=2))
    window = ReadWindow("at", utc(at(10)).astimezone(plus_two), utc(at(20)).astimezone(plus_two))
    assert ids_in(connector, table, window) == expected(at(10), at(20))


@settings(max_examples=15, deadline=None)
@given(cuts=st.lists(st.integers(-4 * 60, (ROWS + 4) * 60), max_size=6, unique=True))
def test_windows_that_tile_cover_every_row_once(
    connector: Connector, table: str, cuts: list[int]
) -> None:
    bounds: list[datetime | None] = [None, *(utc(at(m / 60)) for m in sorted(cuts)), None]
    seen: Counter[int] = Counter()
    for start, end in pairwise(bounds):
        seen.update(ids_in(connector, table, ReadWindow("at", start, end)))
    assert sorted(seen) == sorted(ROWS_AT)
    assert set(seen.values()) == {1}


def test_the_window_column_need_not_be_read(connector: Connector, table: str) -> None:
    window = ReadWindow("at", utc(at(10)), utc(at(20)))
    batches = list(connector.read(table, columns=["id"], window=window))
    assert batches[0].schema.names == ["id"]
    got = sorted(pa.Table.from_batches(batches).column("id").to_pylist())
    assert got == expected(at(10), at(20))


@pytest.mark.parametrize(
    "bound",
    [
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=2))),
        datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-2))),
    ],
)
def test_a_bound_outside_utcs_years_is_refused_in_words(
    connector: Connector, table: str, bound: datetime
) -> None:
    with pytest.raises(InvalidRequest):
        list(connector.read(table, window=ReadWindow("at", start=bound)))
