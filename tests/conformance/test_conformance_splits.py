"""``split`` gives disjoint key ranges that together read every row exactly once."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest
from cases.base import BIGINT, INT, TEXT, TIMESTAMP, SourceCase

from flowservice.connectors.base import Connector, KeyRange, ReadWindow

T0 = datetime(2024, 1, 1)
IDS = sorted(random.Random(7).sample(range(-5000, 5000), 400))  # gaps and negatives
AT = {key: T0 + timedelta(minutes=n) for n, key in enumerate(IDS)}
WINDOW_START = (T0 + timedelta(minutes=100)).replace(tzinfo=UTC)
WINDOW = ReadWindow("at", WINDOW_START, None)


@pytest.fixture(scope="module")
def table(case: SourceCase) -> str:
    ddl = (
        f"id {case.ddl(INT)} NOT NULL PRIMARY KEY, at {case.ddl(TIMESTAMP)} NOT NULL, "
        f"v {case.ddl(TEXT)}"
    )
    rows = [{"id": key, "at": AT[key], "v": f"v{key}"} for key in IDS]
    return case.create_table("sp_facts", ddl, rows)


def ids_in(
    connector: Connector,
    table: str,
    key_range: KeyRange | None = None,
    window: ReadWindow | None = None,
) -> list[int]:
    batches = list(connector.read(table, key_range=key_range, window=window))
    return pa.Table.from_batches(batches).column("id").to_pylist() if batches else []


def assert_disjoint(ranges: list[KeyRange | None]) -> None:
    if ranges == [None]:
        return
    assert None not in ranges, ranges
    keyed = [r for r in ranges if r is not None]
    assert len({r.column for r in keyed}) == 1
    low = float("-inf")
    for part in sorted(keyed, key=lambda r: float("-inf") if r.start is None else r.start):
        start = float("-inf") if part.start is None else part.start
        end = float("inf") if part.end is None else part.end
        assert low <= start < end, ranges
        low = end


def assert_cover_once(
    connector: Connector,
    table: str,
    ranges: list[KeyRange | None],
    expected: list[int],
    window: ReadWindow | None = None,
) -> None:
    seen: Counter[int] = Counter()
    for part in ranges:
        seen.update(ids_in(connector, table, part, window))
    assert sorted(seen.elements()) == expected


@pytest.mark.parametrize("parts", [2, 3, 7])
def test_parts_are_disjoint_and_cover_every_key_once(
    case: SourceCase, connector: Connector, table: str, parts: int
) -> None:
    ranges = connector.split(table, parts=parts)
    assert 1 <= len(ranges) <= parts
    if case.can_split:
        assert len(ranges) > 1, ranges
    assert_disjoint(ranges)
    assert_cover_once(connector, table, ranges, IDS)


@pytest.mark.parametrize("parts", [2, 5])
def test_parts_of_a_window_cover_the_window_once(
    case: SourceCase, connector: Connector, table: str, parts: int
) -> None:
    ranges = connector.split(table, parts=parts, window=WINDOW)
    assert 1 <= len(ranges) <= parts
    if case.can_split:
        assert len(ranges) > 1, ranges
    assert_disjoint(ranges)
    in_window = [key for key in IDS if AT[key].replace(tzinfo=UTC) >= WINDOW_START]
    assert_cover_once(connector, table, ranges, in_window, WINDOW)


def test_one_part_or_large_min_rows_reads_everything(connector: Connector, table: str) -> None:
    for ranges in (
        connector.split(table, parts=1),
        connector.split(table, parts=4, min_rows=10 * len(IDS)),
    ):
        assert_disjoint(ranges)
        assert_cover_once(connector, table, ranges, IDS)


def test_an_empty_table_splits_into_parts_that_read_nothing(
    case: SourceCase, connector: Connector
) -> None:
    empty = case.create_table("sp_empty", f"id {case.ddl(INT)} NOT NULL PRIMARY KEY")
    ranges = connector.split(empty, parts=3)
    assert_cover_once(connector, empty, ranges, [])


def test_key_ranges_are_half_open(connector: Connector, table: str) -> None:
    low, high = IDS[10], IDS[20]
    assert sorted(ids_in(connector, table, KeyRange("id", low, high))) == IDS[10:20]
    assert sorted(ids_in(connector, table, KeyRange("id", None, low))) == IDS[:10]
    assert sorted(ids_in(connector, table, KeyRange("id", high, None))) == IDS[20:]


@pytest.mark.parametrize("parts", [2, 3, 7])
def test_extreme_bigint_keys_split_and_cover_once(
    case: SourceCase, connector: Connector, parts: int
) -> None:
    keys = sorted({-(2**63), -(2**62) - 1, -1, 0, 1, 2**62, 2**63 - 2, 2**63 - 1})
    name = f"sp_extremes_{parts}"
    extremes = case.create_table(
        name, f"id {case.ddl(BIGINT)} NOT NULL PRIMARY KEY", [{"id": k} for k in keys]
    )
    ranges = connector.split(extremes, parts=parts)
    assert_disjoint(ranges)
    assert_cover_once(connector, extremes, ranges, keys)


def test_more_parts_than_keys(case: SourceCase, connector: Connector) -> None:
    few = case.create_table(
        "sp_few", f"id {case.ddl(INT)} NOT NULL PRIMARY KEY", [{"id": k} for k in (1, 2, 3)]
    )
    ranges = connector.split(few, parts=7)
    assert 1 <= len(ranges) <= 7
    assert_disjoint(ranges)
    assert_cover_once(connector, few, ranges, [1, 2, 3])


def test_the_key_need_not_be_read(connector: Connector, table: str) -> None:
    ranges = connector.split(table, parts=3)
    values: list[str] = []
    for part in ranges:
        batches = list(connector.read(table, columns=["v"], key_range=part))
        assert all(b.schema.names == ["v"] for b in batches)
        values += pa.Table.from_batches(batches).column("v").to_pylist() if batches else []
    assert sorted(values) == sorted(f"v{key}" for key in IDS)
