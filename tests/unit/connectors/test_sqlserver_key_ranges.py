"""Splitting a read into integer key ranges: the ranges cover every key exactly once."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from flowservice.connectors.base import KeyRange
from flowservice.connectors.sqlserver.catalog import CatalogColumn
from flowservice.connectors.sqlserver.key_ranges import integer_key, key_ranges
from flowservice.connectors.sqlserver.types import SqlServerType


def column(name: str, type_name: str) -> CatalogColumn:
    return CatalogColumn(
        name=name, sql_type=SqlServerType(type_name), nullable=False, primary_key_position=1
    )


def test_integer_key_needs_exactly_one_integer_column() -> None:
    cols = [column("id", "bigint"), column("region", "nvarchar"), column("n", "int")]
    assert integer_key(cols, ["id"]) == "id"
    assert integer_key(cols, ["region"]) is None
    assert integer_key(cols, ["id", "n"]) is None
    assert integer_key(cols, []) is None


def test_even_split_with_open_ends() -> None:
    assert key_ranges("id", 1, 1_000_000, parts=2, min_rows=65536) == [
        KeyRange("id", None, 500_001),
        KeyRange("id", 500_001, None),
    ]


def test_no_split_for_an_empty_or_small_table() -> None:
    assert key_ranges("id", None, None, parts=4, min_rows=1) == [None]
    assert key_ranges("id", 1, 100, parts=4, min_rows=65536) == [None]
    # fewer parts when each would be smaller than min_rows
    assert len(key_ranges("id", 1, 150_000, parts=4, min_rows=65536)) == 2


def contains(part: KeyRange, key: int) -> bool:
    return (part.start is None or key >= part.start) and (part.end is None or key < part.end)


@given(
    low=st.integers(-(2**40), 2**40),
    width=st.integers(0, 10_000),
    parts=st.integers(1, 16),
    min_rows=st.integers(1, 500),
    probes=st.lists(st.integers(-(2**41), 2**41), max_size=20),
)
def test_every_key_falls_in_exactly_one_range(
    low: int, width: int, parts: int, min_rows: int, probes: list[int]
) -> None:
    high = low + width
    ranges = key_ranges("k", low, high, parts=parts, min_rows=min_rows)
    assert 1 <= len(ranges) <= parts
    if ranges == [None]:
        return
    keys = [low, high, low + width // 2, *probes]
    for key in keys:
        assert sum(contains(r, key) for r in ranges if r is not None) == 1
