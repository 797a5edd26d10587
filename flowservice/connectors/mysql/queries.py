"""SELECT statements for preview, read and split, built only from catalog names and literals.

The Arrow reader takes no bind parameters, so bounds are written as literals
that only this module formats: integers through ``int`` and datetimes field by
field, never user text.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flowservice.connectors.base import KeyRange, ReadWindow
from flowservice.connectors.mysql.catalog import CatalogColumn, CatalogObject
from flowservice.connectors.mysql.types import (
    INTEGER_TYPES,
    WINDOW_TYPES,
    quote_identifier,
    select_item,
)
from flowservice.errors import InvalidRequest, SourceConfigError


def _select_list(cols: list[CatalogColumn], *, guard_zero_dates: bool = True) -> str:
    return ", ".join(
        select_item(c.name, c.sql_type, guard_zero_dates=guard_zero_dates) for c in cols
    )


def _order_by(key: list[str]) -> str:
    return " ORDER BY " + ", ".join(quote_identifier(name) for name in key) if key else ""


def _where(conditions: list[str]) -> str:
    return " WHERE " + " AND ".join(conditions) if conditions else ""


def preview_statement(
    obj: CatalogObject, cols: list[CatalogColumn], *, count: int, order_key: list[str]
) -> str:
    """The first ``count`` rows (a validated int) in key order."""
    sql = f"SELECT {_select_list(cols)} FROM {obj.quoted}{_order_by(order_key)}"
    return f"{sql} LIMIT {int(count)}"


def read_statement(
    obj: CatalogObject,
    all_cols: list[CatalogColumn],
    cols: list[CatalogColumn],
    *,
    window: ReadWindow | None,
    key_range: KeyRange | None = None,
    order_key: list[str] | None = None,
    guard_zero_dates: bool = True,
) -> str:
    """The read query: an optional half-open window on a date or time column and an
    optional half-open range of an integer key (``select_item`` for ``guard_zero_dates``)."""
    conditions = window_conditions(obj, all_cols, window)
    if key_range is not None:
        key = quote_identifier(key_column(obj, all_cols, key_range.column).name)
        if key_range.start is not None:
            conditions.append(f"{key} >= {int(key_range.start)}")
        if key_range.end is not None:
            conditions.append(f"{key} < {int(key_range.end)}")
    selected = _select_list(cols, guard_zero_dates=guard_zero_dates)
    sql = f"SELECT {selected} FROM {obj.quoted}{_where(conditions)}"
    return sql + _order_by(order_key or [])


def bounds_statement(
    obj: CatalogObject, all_cols: list[CatalogColumn], key: str, *, window: ReadWindow | None
) -> str:
    """``SELECT MIN(key), MAX(key)`` of the rows a read of ``window`` would return."""
    column = quote_identifier(key_column(obj, all_cols, key).name)
    conditions = window_conditions(obj, all_cols, window)
    return f"SELECT MIN({column}), MAX({column}) FROM {obj.quoted}{_where(conditions)}"


def window_conditions(
    obj: CatalogObject, all_cols: list[CatalogColumn], window: ReadWindow | None
) -> list[str]:
    """``column >= start AND column < end`` in UTC (sessions run with time_zone '+00:00')."""
    if window is None:
        return []
    column = quote_identifier(window_column(obj, all_cols, window.column).name)
    conditions: list[str] = []
    if window.start is not None:
        conditions.append(f"{column} >= {datetime_literal(window.start)}")
    if window.end is not None:
        conditions.append(f"{column} < {datetime_literal(window.end)}")
    return conditions


def datetime_literal(moment: datetime) -> str:
    """``'YYYY-MM-DD HH:MM:SS.ffffff'`` in UTC; naive datetimes are taken as UTC.

    An aware bound whose instant falls outside the years 1 to 9999 in UTC is refused
    with ``InvalidRequest``.
    """
    if not isinstance(moment, datetime):
        raise SourceConfigError("A window bound must be a datetime.")
    if moment.tzinfo is not None:
        try:
            moment = moment.astimezone(UTC).replace(tzinfo=None)
        except OverflowError:  # e.g. 0001-01-01T00:00+02:00 is in year 0 in UTC
            raise InvalidRequest(
                f"The window bound {moment.isoformat()} is outside the years 1 to 9999 in UTC."
            ) from None
    date = f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
    time = f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}.{moment.microsecond:06d}"
    return f"'{date} {time}'"


def key_column(obj: CatalogObject, cols: list[CatalogColumn], name: str) -> CatalogColumn:
    for column in cols:
        if column.name.lower() == name.lower() and column.sql_type.name in INTEGER_TYPES:
            return column
    raise SourceConfigError(f"'{name[:128]}' is not an integer column of {obj.path}.")


def window_column(obj: CatalogObject, cols: list[CatalogColumn], name: str) -> CatalogColumn:
    for column in cols:
        if column.name.lower() == name.lower():
            if column.sql_type.name not in WINDOW_TYPES:
                raise SourceConfigError(
                    f"The delta column '{column.name}' of {obj.path} is {column.sql_type}; "
                    "it must be a DATE, DATETIME or TIMESTAMP column."
                )
            return column
    raise SourceConfigError(f"The delta column '{name[:128]}' is not in {obj.path}.")
