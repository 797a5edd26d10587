"""SQL Server type → Arrow type → XDM type, and how each column is selected and conformed.

The one place that decides how every SQL Server value is carried; the table
in ``docs/sqlserver-types.md`` mirrors ``map_type``. mssql-python's Arrow fetch
yields close types (large strings, time64[ns], datetimeoffset as a UTC
timestamp); ``conform`` turns each batch into exactly the promised schema with
vectorised casts, never one Python object per value.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

# datetimeoffset keeps the instant (UTC) and the writer's offset, in minutes east of UTC.
DATETIMEOFFSET = pa.struct(
    [
        pa.field("utc", pa.timestamp("us", tz="UTC")),
        pa.field("offset_minutes", pa.int16()),
    ]
)

_INTEGERS = {
    "tinyint": pa.int16(),  # Delta Lake has no unsigned types; 0..255 fits exactly
    "smallint": pa.int16(),
    "int": pa.int32(),
    "bigint": pa.int64(),
}
_STRINGS = frozenset({"char", "varchar", "nchar", "nvarchar", "text", "ntext"})
_BINARIES = frozenset({"binary", "varbinary", "image", "timestamp", "rowversion"})
_SIZED = frozenset({"char", "varchar", "nchar", "nvarchar", "binary", "varbinary"})
_FRACTIONAL = frozenset({"time", "datetime2", "datetimeoffset"})
_CLR = frozenset({"hierarchyid", "geography", "geometry"})  # .ToString() gives their text form


@dataclass(frozen=True)
class SqlServerType:
    """A column type as the catalog reports it (``length`` in characters or bytes, -1 = max)."""

    name: str
    length: int | None = None
    precision: int | None = None
    scale: int | None = None

    def __str__(self) -> str:
        if self.name in _SIZED and self.length is not None:
            return f"{self.name}({'max' if self.length == -1 else self.length})"
        if self.name in ("decimal", "numeric"):
            return f"{self.name}({self.precision},{self.scale})"
        if self.name in _FRACTIONAL and self.scale is not None:
            return f"{self.name}({self.scale})"
        return self.name


@dataclass(frozen=True)
class TypeMapping:
    """How a SQL Server type is carried: Arrow type, XDM type, and whether that loses anything."""

    arrow_type: pa.DataType
    xdm_type: str
    lossy: bool = False


def map_type(sql_type: SqlServerType) -> TypeMapping:
    """The Arrow and XDM types promised for ``sql_type``."""
    name = sql_type.name.lower()
    if name == "bit":
        return TypeMapping(pa.bool_(), "boolean")
    if name in _INTEGERS:
        return TypeMapping(_INTEGERS[name], "integer")
    if name == "real":
        return TypeMapping(pa.float32(), "number")
    if name == "float":
        return TypeMapping(
            pa.float32() if (sql_type.precision or 53) <= 24 else pa.float64(), "number"
        )
    if name in ("decimal", "numeric"):
        return TypeMapping(pa.decimal128(sql_type.precision or 18, sql_type.scale or 0), "number")
    if name == "money":
        return TypeMapping(pa.decimal128(19, 4), "number")
    if name == "smallmoney":
        return TypeMapping(pa.decimal128(10, 4), "number")
    if name in _STRINGS:
        return TypeMapping(pa.large_string(), "string")
    if name == "uniqueidentifier":
        return TypeMapping(pa.large_string(), "string")
    if name in _BINARIES:
        return TypeMapping(pa.large_binary(), "string")
    if name == "date":
        return TypeMapping(pa.date32(), "date")
    # Delta Lake and XDM have no time-of-day type: ISO text keeps all 7 digits exactly.
    if name == "time":
        return TypeMapping(pa.large_string(), "string")
    if name in ("datetime", "smalldatetime"):
        return TypeMapping(pa.timestamp("us"), "date-time")
    # The 7th fractional digit (100 ns) does not fit a microsecond timestamp, and
    # nanosecond timestamps cannot hold years before 1677 or after 2262.
    if name == "datetime2":
        return TypeMapping(pa.timestamp("us"), "date-time", lossy=_seventh_digit(sql_type))
    if name == "datetimeoffset":
        return TypeMapping(DATETIMEOFFSET, "date-time", lossy=_seventh_digit(sql_type))
    return TypeMapping(pa.large_string(), "string", lossy=True)


def _seventh_digit(sql_type: SqlServerType) -> bool:
    return (sql_type.scale if sql_type.scale is not None else 7) > 6


def quote_identifier(name: str) -> str:
    """``[name]`` with ``]`` doubled: the only way names reach SQL text."""
    return "[" + name.replace("]", "]]") + "]"


def select_items(column: str, sql_type: SqlServerType, *, source: str = "") -> list[str]:
    """SELECT-list expressions that fetch ``column``; ``conform`` consumes them in order.

    ``source`` qualifies the column with a table alias (a plain identifier we chose).
    """
    quoted = f"{source}.{quote_identifier(column)}" if source else quote_identifier(column)
    name = sql_type.name.lower()
    if name == "datetimeoffset":
        return [quoted, f"DATEPART(TZOFFSET, {quoted})"]
    if name in _CLR:
        return [f"{quoted}.ToString()"]
    if map_type(sql_type).lossy and name not in ("datetime2",):
        return [f"CAST({quoted} AS nvarchar(max))"]
    return [quoted]


def arrow_schema(columns: list[tuple[str, SqlServerType]]) -> pa.Schema:
    """The schema every batch of ``read`` has."""
    return pa.schema([pa.field(name, map_type(t).arrow_type) for name, t in columns])


def conform(batch: pa.RecordBatch, columns: list[tuple[str, SqlServerType]]) -> pa.RecordBatch:
    """Turn a driver batch (from ``select_items`` of ``columns``) into ``arrow_schema(columns)``."""
    arrays: list[pa.Array] = []
    position = 0
    for _, sql_type in columns:
        name = sql_type.name.lower()
        target = map_type(sql_type).arrow_type
        raw = batch.column(position)
        if name == "datetimeoffset":
            offset = batch.column(position + 1)
            position += 2
            arrays.append(_datetimeoffset(raw, offset))
            continue
        position += 1
        if name == "uniqueidentifier":
            raw = pc.utf8_lower(raw.cast(pa.large_string()))
        elif name == "time" and pa.types.is_time(raw.type):
            raw = time_text(raw)
        arrays.append(raw if raw.type == target else raw.cast(target))
    return pa.RecordBatch.from_arrays(arrays, schema=arrow_schema(columns))


def time_text(times: pa.Array) -> pa.Array:
    """``HH:MM:SS[.fffffff]``: the fraction without trailing zeros, vectorised."""
    text = times.cast(pa.time64("ns")).cast(pa.large_string())  # HH:MM:SS.fffffffff
    return pc.replace_substring_regex(text, pattern=r"\.?0+$", replacement="")


def _datetimeoffset(instant: pa.Array, offset: pa.Array) -> pa.Array:
    utc = instant.cast(pa.timestamp("us", tz="UTC"))
    minutes = offset.cast(pa.int16())
    return pa.StructArray.from_arrays(
        [utc, minutes], fields=list(DATETIMEOFFSET), mask=utc.is_null()
    )
