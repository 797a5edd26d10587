"""PostgreSQL type → Arrow type → XDM type, how each column is selected, and conforming batches.

The one place that decides how every PostgreSQL value is carried (the table in
``docs/sources/postgresql.md`` mirrors ``map_type``). ADBC's binary COPY gives
near types (uuid and json as extension arrays, intervals as month-day-nano);
numerics and a few other columns are cast to text in SQL so nothing is lost,
and ``conform`` turns every batch into exactly the promised schema with
vectorised casts.

Choices: numeric(p,s) with p <= 38 is decimal128(p,s); other numerics are
their exact text. interval is ISO 8601 text (``P1Y2M3DT4H5M6.789S``, the
session sets ``IntervalStyle = iso_8601``): Delta Lake has no interval type.
time and timetz are text, as Delta Lake has no time of day. Arrays are JSON
text (``array_to_json``), one string column whatever the element type. Dates and
timestamps of ``infinity``/``-infinity`` read as NULL (Arrow has no such value). Enums
are their label, domains their base type, money its numeric text, and every
other type (xml, inet, ranges, geometric...) PostgreSQL's own text form.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from flowservice.connectors.postgresql.errors import PostgresSystemError

MAX_DECIMAL_PRECISION = 38

_INTEGERS = {"int2": pa.int16(), "int4": pa.int32(), "int8": pa.int64()}
_FLOATS = {"float4": pa.float32(), "float8": pa.float64()}
# text the driver already returns as plain (or extension-wrapped) strings
_NATIVE_TEXT = frozenset({"text", "varchar", "bpchar", "json", "jsonb"})
# types whose cast to text is their output function
_TEXT_CAST_IS_OUTPUT = frozenset({"uuid", "interval", "time", "timetz"})
INTEGER_TYPES = frozenset(_INTEGERS)
WINDOW_TYPES = frozenset({"date", "timestamp", "timestamptz"})


@dataclass(frozen=True)
class PostgresType:
    """A column's type as the catalog reports it, domains resolved to their base.

    ``name`` is the base type's ``pg_type.typname`` (``int4``, ``numeric``,
    ``_text`` for an array); ``kind`` its ``typtype`` (``b`` base, ``e`` enum,
    ``r``/``m`` range, ``c`` composite, ``p`` pseudo) or ``a`` for arrays;
    ``native`` the declared type as ``format_type`` spells it (the domain's name
    for a domain column).
    """

    name: str
    native: str
    kind: str = "b"
    precision: int | None = None
    scale: int | None = None

    def __str__(self) -> str:
        return self.native


@dataclass(frozen=True)
class TypeMapping:
    """How a type is carried: Arrow type, XDM type, and whether that loses anything."""

    arrow_type: pa.DataType
    xdm_type: str
    lossy: bool = False


def numeric_modifiers(typmod: int) -> tuple[int | None, int | None]:
    """(precision, scale) of a numeric type modifier; (None, None) when unconstrained."""
    if typmod < 4:
        return None, None
    packed = typmod - 4
    precision = (packed >> 16) & 0xFFFF
    scale = packed & 0x7FF
    if scale > 1023:  # PostgreSQL 15 allows negative scales, stored in 11 bits
        scale -= 2048
    return precision, scale


def is_decimal(pg_type: PostgresType) -> bool:
    """Whether a numeric column fits decimal128 exactly (bounded precision, 0 <= scale <= p)."""
    p, s = pg_type.precision, pg_type.scale
    return (
        pg_type.name == "numeric"
        and p is not None
        and s is not None
        and 1 <= p <= MAX_DECIMAL_PRECISION
        and 0 <= s <= p
    )


def map_type(pg_type: PostgresType) -> TypeMapping:
    """The Arrow and XDM types promised for ``pg_type``."""
    name = pg_type.name
    if pg_type.kind == "a":
        return TypeMapping(pa.large_string(), "string")
    if name == "bool":
        return TypeMapping(pa.bool_(), "boolean")
    if name in _INTEGERS:
        return TypeMapping(_INTEGERS[name], "integer")
    if name in _FLOATS:
        return TypeMapping(_FLOATS[name], "number")
    if name == "numeric":
        if is_decimal(pg_type):
            return TypeMapping(pa.decimal128(pg_type.precision or 0, pg_type.scale or 0), "number")
        return TypeMapping(pa.large_string(), "string")  # exact text: no fixed width holds it
    if name == "bytea":
        return TypeMapping(pa.large_binary(), "string")
    if name == "date":
        return TypeMapping(pa.date32(), "date")
    if name == "timestamp":
        return TypeMapping(pa.timestamp("us"), "date-time")
    if name == "timestamptz":
        return TypeMapping(pa.timestamp("us", tz="UTC"), "date-time")
    return TypeMapping(pa.large_string(), "string")


def quote_identifier(name: str) -> str:
    """``"name"`` with ``"`` doubled: the only way names reach SQL text."""
    return '"' + name.replace('"', '""') + '"'


def select_item(column: str, pg_type: PostgresType) -> str:
    """The SELECT-list expression that fetches ``column`` for ``conform``."""
    quoted = quote_identifier(column)
    name = pg_type.name
    if pg_type.kind == "a":
        return f"array_to_json({quoted})::text AS {quoted}"
    if name == "money":
        return f"{quoted}::numeric::text AS {quoted}"
    if name in WINDOW_TYPES:
        # ±infinity has no Arrow value (the driver would wrap it into a wrong instant)
        return f"CASE WHEN isfinite({quoted}) THEN {quoted} END AS {quoted}"
    if name == "numeric":
        # PostgreSQL's own text (NaN, Infinity as it spells them), and faster than the driver's
        return f"{quoted}::text AS {quoted}"
    mapping = map_type(pg_type)
    if mapping.arrow_type != pa.large_string() or name in _NATIVE_TEXT:
        return quoted
    if pg_type.kind == "e":
        return quoted
    if name in _TEXT_CAST_IS_OUTPUT:
        return f"{quoted}::text AS {quoted}"
    # concat() writes a value with its type's output function; a cast to text need not
    # (inet's cast adds the netmask its output leaves out)
    return f"CASE WHEN {quoted} IS NULL THEN NULL ELSE concat({quoted}) END AS {quoted}"


def arrow_schema(columns: list[tuple[str, PostgresType]]) -> pa.Schema:
    """The schema every batch of ``read`` has."""
    return pa.schema([pa.field(name, map_type(t).arrow_type) for name, t in columns])


def conform(batch: pa.RecordBatch, columns: list[tuple[str, PostgresType]]) -> pa.RecordBatch:
    """Turn a driver batch (``select_item`` of ``columns``) into ``arrow_schema(columns)``."""
    schema = arrow_schema(columns)
    arrays: list[pa.Array] = []
    for position, target in enumerate(schema):
        raw = batch.column(position)
        if isinstance(raw, pa.ExtensionArray):
            raw = raw.storage  # numeric text, json text, ...
        arrays.append(raw if raw.type == target.type else _cast(raw, target))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _cast(array: pa.Array, target: pa.Field) -> pa.Array:
    try:
        return array.cast(target.type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        # e.g. NaN in a numeric(p,s) column: a decimal cannot hold it
        raise PostgresSystemError(
            f"A value of column '{target.name[:128]}' does not fit {target.type} "
            "(NaN in a numeric column?).",
            reason="value_out_of_range",
        ) from exc
