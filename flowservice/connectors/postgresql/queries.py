"""SELECT statements for preview, read and split, built only from catalog names and literals
we format ourselves (integers, and datetimes as ISO text): ADBC's COPY path takes no
parameters, and nothing a user typed ever reaches the SQL text."""

from __future__ import annotations

from datetime import UTC, datetime

from flowservice.connectors.base import KeyRange, ReadWindow
from flowservice.connectors.postgresql.catalog import CatalogColumn, CatalogObject
from flowservice.connectors.postgresql.types import (
    INTEGER_TYPES,
    WINDOW_TYPES,
    quote_identifier,
    select_item,
)
from flowservice.errors import InvalidRequest, SourceConfigError


def _select_list(cols: list[CatalogColumn]) -> str:
    return ", ".join(select_item(c.name, c.pg_type) for c in cols)


def _order_by(key: list[str]) -> str:
    return " ORDER BY " + ", ".join(quote_identifier(name) for name in key) if key else ""


def _where(conditions: list[str]) -> str:
    return " WHERE " + " AND ".join(conditions) if conditions else ""


def preview_statement(
    obj: CatalogObject, cols: list[CatalogColumn], *, limit: int, order_key: list[str]
) -> str:
    """The first ``limit`` rows (in key order when there is a key)."""
    return f"SELECT {_select_list(cols)} FROM {obj.quoted}{_order_by(order_key)} LIMIT {int(limit)}"


def read_statement(
    obj: CatalogObject,
    all_cols: list[CatalogColumn],
    cols: list[CatalogColumn],
    *,
    window: ReadWindow | None,
    key_range: KeyRange | None,
) -> str:
    """The rows of ``window`` ([start, end) on a date/time column) and ``key_range``
    ([start, end) on an integer column), in no particular order."""
    conditions = window_conditions(obj, all_cols, window)
    if key_range is not None:
        key = quote_identifier(key_column(obj, all_cols, key_range.column).name)
        if key_range.start is not None:
            conditions.append(f"{key} >= {int(key_range.start)}")
        if key_range.end is not None:
            conditions.append(f"{key} < {int(key_range.end)}")
    return f"SELECT {_select_list(cols)} FROM {obj.quoted}{_where(conditions)}"


def bounds_statement(
    obj: CatalogObject, all_cols: list[CatalogColumn], key: str, *, window: ReadWindow | None
) -> str:
    """``SELECT min(key), max(key)`` of the rows a read of ``window`` would return."""
    column = quote_identifier(key_column(obj, all_cols, key).name)
    conditions = window_conditions(obj, all_cols, window)
    return f"SELECT min({column}), max({column}) FROM {obj.quoted}{_where(conditions)}"


def window_conditions(
    obj: CatalogObject, all_cols: list[CatalogColumn], window: ReadWindow | None
) -> list[str]:
    """``column >= start AND column < end``, bounds as UTC literals of the column's kind."""
    if window is None:
        return []
    column = window_column(obj, all_cols, window.column)
    quoted = quote_identifier(column.name)
    conditions: list[str] = []
    for bound, operator in ((window.start, ">="), (window.end, "<")):
        if bound is not None:
            conditions.append(f"{quoted} {operator} {timestamp_literal(bound, column)}")
    return conditions


def timestamp_literal(moment: datetime, column: CatalogColumn) -> str:
    """A typed literal for ``moment`` (naive means UTC) compared with ``column``.

    A timestamptz column gets the instant; timestamp and date columns, which hold
    no zone, are taken as UTC wall-clock times. The text comes from ``isoformat``
    of a datetime: digits and separators only.
    """
    try:
        utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00+02:00 is in year 0 in UTC
        raise InvalidRequest(
            f"The window bound {moment.isoformat()} is outside the years 1 to 9999 in UTC."
        ) from None
    if column.pg_type.name == "timestamptz":
        return f"'{utc.isoformat(sep=' ')}'::timestamptz"
    return f"'{utc.replace(tzinfo=None).isoformat(sep=' ')}'::timestamp"


def key_column(obj: CatalogObject, cols: list[CatalogColumn], name: str) -> CatalogColumn:
    """The integer column ``name`` (exact spelling first, then ignoring case)."""
    found = find_column(cols, name)
    if found is None or found.pg_type.name not in INTEGER_TYPES or found.pg_type.kind == "a":
        raise SourceConfigError(f"'{name[:128]}' is not an integer column of {obj.path}.")
    return found


def window_column(obj: CatalogObject, cols: list[CatalogColumn], name: str) -> CatalogColumn:
    """The delta column ``name``: it must hold dates or timestamps."""
    found = find_column(cols, name)
    if found is None:
        raise SourceConfigError(f"The delta column '{name[:128]}' is not in {obj.path}.")
    if found.pg_type.name not in WINDOW_TYPES or found.pg_type.kind == "a":
        raise SourceConfigError(
            f"The delta column '{found.name}' of {obj.path} is {found.pg_type}; it must be "
            "a date or time column (date, timestamp or timestamptz)."
        )
    return found


def find_column(cols: list[CatalogColumn], name: str) -> CatalogColumn | None:
    """The column spelled ``name``, else the only one equal to it ignoring case."""
    for column in cols:
        if column.name == name:
            return column
    folded = [c for c in cols if c.name.lower() == name.lower()]
    return folded[0] if len(folded) == 1 else None
