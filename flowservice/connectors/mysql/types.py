"""MySQL / MariaDB type → Arrow type → XDM type, how each column is selected, and conforming.

The one place that decides how every value is carried; the type table in
``docs/sources/mysql-mariadb.md`` mirrors ``map_type``. Types the Arrow reader
could misread or refuse (DECIMAL, TIME, BIT, zero dates, MySQL's binary JSON,
spatial values) are selected as expressions with an exact result, and
``conform`` turns each batch into the promised schema with vectorised casts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa

MAX_DECIMAL128 = 38
# The Arrow reader carries DECIMAL as a 28-digit rust_decimal rescaled to 10 places: exact only
# within these bounds (wider values fail or, past 10 places, round), so others go as text.
READER_DECIMAL_SCALE = 10
READER_DECIMAL_INTEGER_DIGITS = 18

_SIGNED = {"tinyint": pa.int8(), "smallint": pa.int16(), "mediumint": pa.int32()}
_SIGNED |= {"int": pa.int32(), "integer": pa.int32(), "bigint": pa.int64()}
_UNSIGNED = {"tinyint": pa.uint8(), "smallint": pa.uint16(), "mediumint": pa.uint32()}
_UNSIGNED |= {"int": pa.uint32(), "integer": pa.uint32(), "bigint": pa.uint64()}
_STRINGS = frozenset(
    {"char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set", "json"}
)
_BINARIES = frozenset({"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"})
_SPATIAL = frozenset(
    {
        "geometry",
        "point",
        "linestring",
        "polygon",
        "multipoint",
        "multilinestring",
        "multipolygon",
        "geometrycollection",
        "geomcollection",
    }
)
# MariaDB's own types whose text form is exact
_AS_TEXT = frozenset({"uuid", "inet4", "inet6"})
_ZERO_DATES = frozenset({"date", "datetime", "timestamp"})
ZERO_DATE_TYPES = _ZERO_DATES
INTEGER_TYPES = frozenset(_SIGNED)
WINDOW_TYPES = frozenset({"date", "datetime", "timestamp"})


@dataclass(frozen=True)
class MySqlType:
    """A column type as ``information_schema.COLUMNS`` reports it.

    ``name`` is ``DATA_TYPE`` (lower case), ``column_type`` the full ``COLUMN_TYPE``
    text (``bigint(20) unsigned``, ``decimal(65,30)``, ``enum('a','b')``).
    """

    name: str
    column_type: str
    precision: int | None = None
    scale: int | None = None

    @property
    def unsigned(self) -> bool:
        return "unsigned" in self.column_type.lower()

    @property
    def bits(self) -> int:
        """The width of a BIT(n) column."""
        found = re.search(r"\((\d+)\)", self.column_type)
        return int(found.group(1)) if found else 1

    def __str__(self) -> str:
        return self.column_type


@dataclass(frozen=True)
class TypeMapping:
    """How a type is carried: Arrow type, XDM type, and whether that loses anything."""

    arrow_type: pa.DataType
    xdm_type: str
    lossy: bool = False


def map_type(sql_type: MySqlType) -> TypeMapping:
    """The Arrow and XDM types promised for ``sql_type``."""
    name = sql_type.name.lower()
    if name in _SIGNED:
        table = _UNSIGNED if sql_type.unsigned else _SIGNED
        return TypeMapping(table[name], "integer")
    if name in ("decimal", "numeric"):
        precision, scale = sql_type.precision or 10, sql_type.scale or 0
        if precision <= MAX_DECIMAL128:
            return TypeMapping(pa.decimal128(precision, scale), "number")
        return TypeMapping(pa.large_string(), "string")  # exact text: Delta stops at 38 digits
    if name == "float":
        return TypeMapping(pa.float32(), "number")
    if name in ("double", "real"):
        return TypeMapping(pa.float64(), "number")
    if name == "bit":
        if sql_type.bits == 1:
            return TypeMapping(pa.bool_(), "boolean")
        return TypeMapping(pa.uint64(), "integer")
    if name == "year":
        return TypeMapping(pa.int16(), "integer")
    if name == "date":
        return TypeMapping(pa.date32(), "date")
    if name == "datetime":
        return TypeMapping(pa.timestamp("us"), "date-time")
    if name == "timestamp":
        return TypeMapping(pa.timestamp("us", tz="UTC"), "date-time")
    # -838:59:59 .. 838:59:59 is a duration, not a time of day; Delta has neither: exact text.
    if name == "time":
        return TypeMapping(pa.large_string(), "string")
    if name in _STRINGS or name in _AS_TEXT:
        return TypeMapping(pa.large_string(), "string")
    if name in _BINARIES or name in _SPATIAL:
        return TypeMapping(pa.large_binary(), "string")
    return TypeMapping(pa.large_string(), "string", lossy=True)


def quote_identifier(name: str) -> str:
    """```name``` with backticks doubled: the only way names reach SQL text."""
    return "`" + name.replace("`", "``") + "`"


def select_item(column: str, sql_type: MySqlType, *, guard_zero_dates: bool = True) -> str:
    """The SELECT-list expression that fetches ``column`` exactly, aliased to its own name.

    Without ``guard_zero_dates`` dates go out bare: the reader then fails on a zero date
    (``ZeroDateRead``) instead of the server testing every value.
    """
    quoted = quote_identifier(column)
    name = sql_type.name.lower()
    if name in ("decimal", "numeric") and reader_decimal(sql_type):
        return quoted
    text = name in ("decimal", "numeric", "time", "json") or name in _AS_TEXT
    if text or map_type(sql_type).lossy:
        expression = f"CAST({quoted} AS CHAR)"
    elif name == "bit":
        expression = f"CAST({quoted} AS UNSIGNED)"
    elif name in _ZERO_DATES and guard_zero_dates:
        # '0000-00-00' and dates with a zero month or day are not dates: NULL
        expression = f"IF(MONTH({quoted}) = 0 OR DAYOFMONTH({quoted}) = 0, NULL, {quoted})"
    elif name in _SPATIAL:
        expression = f"ST_AsBinary({quoted})"
    else:
        return quoted
    return f"{expression} AS {quoted}"


def reader_decimal(sql_type: MySqlType) -> bool:
    """Whether the Arrow reader's own DECIMAL values are exact for ``sql_type``."""
    precision, scale = sql_type.precision or 10, sql_type.scale or 0
    return scale <= READER_DECIMAL_SCALE and precision - scale <= READER_DECIMAL_INTEGER_DIGITS


def arrow_schema(columns: list[tuple[str, MySqlType]]) -> pa.Schema:
    """The schema every batch of ``read`` has."""
    return pa.schema([pa.field(name, map_type(t).arrow_type) for name, t in columns])


def conform(batch: pa.RecordBatch, columns: list[tuple[str, MySqlType]]) -> pa.RecordBatch:
    """Turn a reader batch (from ``select_item`` of ``columns``) into ``arrow_schema(columns)``."""
    schema = arrow_schema(columns)
    arrays: list[pa.Array] = []
    for position, target in enumerate(schema.types):
        raw = batch.column(position)
        if pa.types.is_null(raw.type):  # every value NULL: the reader could not tell the type
            arrays.append(pa.nulls(len(raw), target))
        elif pa.types.is_timestamp(target) and target.tz is not None and raw.type.tz is None:
            arrays.append(raw.cast(pa.timestamp("us")).cast(target))  # read in a UTC session
        else:
            arrays.append(raw if raw.type == target else raw.cast(target))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)
