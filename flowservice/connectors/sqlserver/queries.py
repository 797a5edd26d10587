"""SELECT statements for preview and read, built only from catalog names and parameters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flowservice.connectors.base import KeyRange, ReadWindow
from flowservice.connectors.sqlserver.catalog import CatalogColumn, CatalogObject
from flowservice.connectors.sqlserver.types import quote_identifier, select_items
from flowservice.errors import InvalidRequest, SourceConfigError

# Aliases in a changes query: the change table and the tracked table (fixed, never user text).
CHANGES_ALIAS = "CT"
TABLE_ALIAS = "T"
WINDOW_TYPES = frozenset({"date", "datetime", "datetime2", "smalldatetime", "datetimeoffset"})
KEY_TYPES = frozenset({"tinyint", "smallint", "int", "bigint"})


def _select_list(cols: list[CatalogColumn]) -> str:
    items = [item for c in cols for item in select_items(c.name, c.sql_type)]
    return ", ".join(items)


def _order_by(key: list[str]) -> str:
    return " ORDER BY " + ", ".join(quote_identifier(name) for name in key) if key else ""


def select_statement(
    obj: CatalogObject, cols: list[CatalogColumn], *, top: int, order_key: list[str]
) -> str:
    """``SELECT TOP (n)`` of every column, for preview; ``top`` is a validated int."""
    return f"SELECT TOP ({int(top)}) {_select_list(cols)} FROM {obj.quoted}{_order_by(order_key)}"


def read_statement(
    obj: CatalogObject,
    all_cols: list[CatalogColumn],
    cols: list[CatalogColumn],
    *,
    window: ReadWindow | None,
    order_key: list[str],
    key_range: KeyRange | None = None,
) -> tuple[str, tuple[Any, ...]]:
    """The read query and its parameters: an optional half-open window on a temporal column
    and an optional half-open range of an integer key."""
    conditions, params = _window_conditions(obj, all_cols, window)
    if key_range is not None:
        key = _key_column(obj, all_cols, key_range.column)
        for bound, operator in ((key_range.start, ">="), (key_range.end, "<")):
            if bound is not None:
                conditions.append(f"{quote_identifier(key.name)} {operator} ?")
                params.append(int(bound))
    sql = f"SELECT {_select_list(cols)} FROM {obj.quoted}{_where(conditions)}"
    return sql + _order_by(order_key), tuple(params)


def changes_statement(
    obj: CatalogObject, cols: list[CatalogColumn], key: list[CatalogColumn], *, since_version: int
) -> tuple[str, tuple[Any, ...]]:
    """Every key changed after ``since_version`` with its current row and a ``u``/``d`` column.

    Key columns are taken from the change table, so a deleted row keeps its key
    (its other columns are NULL). The change type says whether the row exists
    when it is read rather than copying ``SYS_CHANGE_OPERATION``: a row deleted
    or inserted again while the statement runs is reported as it is found.
    """
    keys = {c.name.lower() for c in key}
    items: list[str] = []
    for column in cols:
        source = CHANGES_ALIAS if column.name.lower() in keys else TABLE_ALIAS
        items.extend(select_items(column.name, column.sql_type, source=source))
    present = f"{TABLE_ALIAS}.{quote_identifier(key[0].name)}"
    items.append(f"CASE WHEN {present} IS NULL THEN 'd' ELSE 'u' END")
    join = " AND ".join(
        f"{TABLE_ALIAS}.{quote_identifier(c.name)} = {CHANGES_ALIAS}.{quote_identifier(c.name)}"
        for c in key
    )
    sql = (
        f"SELECT {', '.join(items)} FROM CHANGETABLE(CHANGES {obj.quoted}, ?) AS {CHANGES_ALIAS}"
        f" LEFT OUTER JOIN {obj.quoted} AS {TABLE_ALIAS} ON {join}"
    )
    return sql, (int(since_version),)


def bounds_statement(
    obj: CatalogObject, all_cols: list[CatalogColumn], key: str, *, window: ReadWindow | None
) -> tuple[str, tuple[Any, ...]]:
    """``SELECT MIN(key), MAX(key)`` of the rows a read of ``window`` would return."""
    column = quote_identifier(_key_column(obj, all_cols, key).name)
    conditions, params = _window_conditions(obj, all_cols, window)
    sql = f"SELECT MIN({column}), MAX({column}) FROM {obj.quoted}{_where(conditions)}"
    return sql, tuple(params)


def _window_conditions(
    obj: CatalogObject, all_cols: list[CatalogColumn], window: ReadWindow | None
) -> tuple[list[str], list[Any]]:
    conditions: list[str] = []
    params: list[Any] = []
    if window is not None:
        column = quote_identifier(_window_column(obj, all_cols, window.column).name)
        if window.start is not None:
            conditions.append(f"{column} >= ?")
            params.append(utc_naive(window.start))
        if window.end is not None:
            conditions.append(f"{column} < ?")
            params.append(utc_naive(window.end))
    return conditions, params


def _where(conditions: list[str]) -> str:
    return " WHERE " + " AND ".join(conditions) if conditions else ""


def _key_column(obj: CatalogObject, cols: list[CatalogColumn], name: str) -> CatalogColumn:
    for column in cols:
        if column.name.lower() == name.lower() and column.sql_type.name in KEY_TYPES:
            return column
    raise SourceConfigError(f"'{name[:128]}' is not an integer column of {obj.path}.")


def _window_column(obj: CatalogObject, cols: list[CatalogColumn], name: str) -> CatalogColumn:
    for column in cols:
        if column.name.lower() == name.lower():
            if column.sql_type.name not in WINDOW_TYPES:
                raise SourceConfigError(
                    f"The delta column '{column.name}' of {obj.path} is "
                    f"{column.sql_type}; it must be a date or time column "
                    "(date, datetime, datetime2, smalldatetime or datetimeoffset)."
                )
            return column
    raise SourceConfigError(f"The delta column '{name[:128]}' is not in {obj.path}.")


def utc_naive(moment: datetime) -> datetime:
    """A naive UTC datetime: aware values are converted, naive ones are taken as UTC."""
    if moment.tzinfo is None:
        return moment
    try:
        return moment.astimezone(UTC).replace(tzinfo=None)
    except OverflowError:
        raise InvalidRequest(
            f"The window bound {moment.isoformat()} is outside the years 1 to 9999 in UTC."
        ) from None
