"""Values of T-SQL variables: conversions on assignment and the form variables hold them in.

Variables hold datetimeoffset values and GUIDs as text (as ``session._bindable`` binds
parameters), and time(7) and datetime2(7) values as text too, since Python times stop at
microseconds; a value assigned to a typed variable goes through SQL Server's conversion
(``conversions.cast_expr``) run by DuckDB.
"""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from mssql_emulator.contract import SqlType
from mssql_emulator.engine import conversions, sqltypes
from mssql_emulator.engine.table_types import TableValue

if TYPE_CHECKING:
    from mssql_emulator.engine.session import DuckDBSession


_TICKS_PER_MINUTE = 600_000_000
_MINUTE = dt.timedelta(minutes=1)
# DuckDB storage types with 100 ns ticks, which Python times and datetimes cannot hold.
_HELD_AS_TEXT = {"TIME_NS": "TIME", "UBIGINT": "TIMESTAMP"}


def source_duck(sql_type: SqlType | None, value: Any) -> str:
    """The DuckDB type a variable of ``sql_type`` (else of this Python value) binds as."""
    if sql_type is not None:
        if sql_type.name in ("datetimeoffset", "uniqueidentifier"):
            return "VARCHAR"  # variables hold these as text (see session._bindable)
        duck = sqltypes.duckdb_type(sql_type)
        if duck in _HELD_AS_TEXT:
            # time(7) and datetime2(7) are held as text once assigned, else as Python values.
            return "VARCHAR" if isinstance(value, str) else _HELD_AS_TEXT[duck]
        return duck
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int):
        return "BIGINT"
    if isinstance(value, float):
        return "DOUBLE"
    if isinstance(value, decimal.Decimal):
        return "DECIMAL"
    if isinstance(value, bytes | bytearray):
        return "BLOB"
    if isinstance(value, dt.datetime):
        return "TIMESTAMP"
    if isinstance(value, dt.date):
        return "DATE"
    if isinstance(value, dt.time):
        return "TIME"
    return "VARCHAR"


def bindable(value: Any) -> Any:
    """A Python value as variables hold it (aware datetimes and GUIDs as text)."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        offset = value.utcoffset() or dt.timedelta()
        return _offset_text(value.replace(tzinfo=None).isoformat(sep=" "), offset // _MINUTE)
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def ticks_text(ticks: int) -> str:
    """datetime2(7) ticks (100 ns since 0001-01-01) as ``yyyy-mm-dd hh:mm:ss.fffffff``."""
    days, rest = divmod(ticks, 864_000_000_000)
    seconds, fraction = divmod(rest, 10_000_000)
    minutes, second = divmod(seconds, 60)
    day = dt.date(1, 1, 1) + dt.timedelta(days=days)
    return f"{day.isoformat()} {minutes // 60:02d}:{minutes % 60:02d}:{second:02d}.{fraction:07d}"


def _offset_text(local: str, minutes: int) -> str:
    """A datetimeoffset's text: its local date and time, then the offset as ``+hh:mm``."""
    sign = "-" if minutes < 0 else "+"
    return f"{local} {sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _variable_value(value: Any) -> Any:
    """A DuckDB result value as variables hold it (datetimeoffset as text, GUIDs as text)."""
    if isinstance(value, dict) and set(value) == {"utc", "offset"}:
        if value["utc"] is None:
            return None
        minutes = int(value["offset"])
        return _offset_text(ticks_text(value["utc"] + minutes * _TICKS_PER_MINUTE), minutes)
    if isinstance(value, uuid.UUID):
        return str(value).upper()
    return value


def convert(
    session: DuckDBSession, value: Any, source: SqlType | None, target: SqlType | None
) -> Any:
    """``value`` assigned to a variable of type ``target`` (SQL Server's implicit conversion)."""
    if value is None or target is None or isinstance(value, TableValue):
        return value
    if isinstance(value, int) and source is not None and sqltypes.duckdb_type(source) == "UBIGINT":
        value = ticks_text(value)  # datetime2(7) ticks from a result row
    if source is not None and source == target:
        return value
    expr = conversions.cast_expr("$v", target, source_duck(source, value))
    duck = sqltypes.duckdb_type(target)
    if duck in _HELD_AS_TEXT:
        expr = conversions.cast_expr(expr, SqlType("varchar", length=-1), duck)
    with bound_only(session, {"v": bindable(value)}):
        rows = session.relation(f"SELECT {expr}").fetchall()
    return _variable_value(rows[0][0]) if rows else None


@contextmanager
def bound_only(session: DuckDBSession, values: dict[str, Any]) -> Iterator[None]:
    """Only ``values`` bound while an internal query runs."""
    saved = session.variables
    session.variables = values
    try:
        yield
    finally:
        session.variables = saved
