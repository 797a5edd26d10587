"""Splitting a read into ranges of an integer primary key, to read them side by side."""

from __future__ import annotations

from flowservice.connectors.base import KeyRange
from flowservice.connectors.postgresql.catalog import CatalogColumn, order_key
from flowservice.connectors.postgresql.types import INTEGER_TYPES


def integer_key(cols: list[CatalogColumn]) -> str | None:
    """The primary key's column when the key is exactly one integer column, else None."""
    key = order_key(cols)
    if len(key) != 1:
        return None
    for column in cols:
        if column.name == key[0] and column.pg_type.name in INTEGER_TYPES:
            return None if column.pg_type.kind == "a" else column.name
    return None


def key_ranges(
    column: str, low: int | None, high: int | None, *, parts: int, min_rows: int
) -> list[KeyRange | None]:
    """Up to ``parts`` equal ranges of [low, high], each spanning at least ``min_rows`` key
    values; the first and last are open-ended, so rows added beyond the bounds meanwhile
    are read once. ``[None]``: don't split."""
    if low is None or high is None:
        return [None]
    span = int(high) - int(low) + 1
    parts = min(parts, span // max(min_rows, 1))
    if parts < 2:
        return [None]
    cuts = [int(low) + span * i // parts for i in range(1, parts)]
    bounds: list[int | None] = [None, *cuts, None]
    return [KeyRange(column, bounds[i], bounds[i + 1]) for i in range(parts)]
