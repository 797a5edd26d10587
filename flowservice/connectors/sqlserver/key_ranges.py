"""Splitting a read into ranges of an integer key, to read them side by side."""

from __future__ import annotations

from flowservice.connectors.base import KeyRange
from flowservice.connectors.sqlserver.catalog import CatalogColumn
from flowservice.connectors.sqlserver.queries import KEY_TYPES


def integer_key(cols: list[CatalogColumn], key: list[str]) -> str | None:
    """The key's column when the key is exactly one integer column, else None."""
    if len(key) != 1:
        return None
    for column in cols:
        if column.name == key[0] and column.sql_type.name in KEY_TYPES:
            return column.name
    return None


def key_ranges(
    column: str, low: int | None, high: int | None, *, parts: int, min_rows: int
) -> list[KeyRange | None]:
    """``parts`` equal ranges of [low, high] (fewer when they would span under ``min_rows``
    key values each); the first and last are open-ended. ``[None]``: don't split."""
    if low is None or high is None:
        return [None]
    span = int(high) - int(low) + 1
    parts = min(parts, span // max(min_rows, 1))
    if parts < 2:
        return [None]
    cuts = [int(low) + span * i // parts for i in range(1, parts)]
    bounds: list[int | None] = [None, *cuts, None]
    return [KeyRange(column, bounds[i], bounds[i + 1]) for i in range(parts)]
