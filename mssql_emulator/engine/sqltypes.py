"""SQL Server types: parsing declared types, DuckDB storage types, and inference back."""

from __future__ import annotations

import re

from mssql_emulator.contract import (
    CLR_MAX_LENGTHS,
    CLR_TYPE_IDS,
    FIXED_BYTE_LENGTHS,
    FIXED_PRECISIONS,
    SqlError,
    SqlType,
)

_ALIASES = {
    "integer": "int",
    "dec": "decimal",
    "double precision": "float",
    "character": "char",
    "character varying": "varchar",
    "national character varying": "nvarchar",
    "rowversion": "timestamp",
}
_STRING_TYPES = {"char", "varchar", "nchar", "nvarchar", "xml"}  # xml: untyped, kept as text
_BINARY_TYPES = {"binary", "varbinary"}
_FIXED = {
    "bit",
    "tinyint",
    "smallint",
    "int",
    "bigint",
    "money",
    "smallmoney",
    "real",
    "date",
    "datetime",
    "smalldatetime",
    "uniqueidentifier",
}
_SCALED_TIME = {"time", "datetime2", "datetimeoffset"}
VARIANT_MAX_LENGTH = 8016

_DUCK_FIXED = {
    "bit": "BOOLEAN",
    "tinyint": "UTINYINT",
    "smallint": "SMALLINT",
    "int": "INTEGER",
    "bigint": "BIGINT",
    "money": "DECIMAL(19,4)",
    "smallmoney": "DECIMAL(10,4)",
    "real": "FLOAT",
    "float": "DOUBLE",
    "date": "DATE",
    "time": "TIME",
    "datetime": "TIMESTAMP",
    "smalldatetime": "TIMESTAMP",
    "datetime2": "TIMESTAMP",
    # the UTC instant in 100 ns ticks since 0001-01-01, as datetime2(7); offset in minutes
    "datetimeoffset": 'STRUCT(utc BIGINT, "offset" SMALLINT)',
    "uniqueidentifier": "UUID",
}
# time(7) keeps 100 ns ticks in TIME_NS, which microsecond TIME would round.  datetime2(7)
# keeps them as a count since 0001-01-01 (see datetime2_ticks): TIMESTAMP_NS only spans
# 1677-09-21..2262-04-11, and SQL Server's 0001-01-01 and 9999-12-31 must fit.
# datetimeoffset keeps ticks at every scale (its struct, above).
_DUCK_NS = {"time": "TIME_NS", "datetime2": "UBIGINT"}


def parse_type(name: str, args: list[str] | None = None) -> SqlType:
    """Normalise a declared T-SQL type (``NVARCHAR``, ``['50']``) to a SqlType."""
    base = " ".join(name.lower().strip('[]"').split())
    base = _ALIASES.get(base, base)
    params = [a.strip().lower() for a in (args or [])]
    if base == "text":
        return SqlType("varchar", length=-1)
    if base == "xml":
        return SqlType("xml", length=-1)
    if base == "ntext":
        return SqlType("nvarchar", length=-1)
    if base == "image":
        return SqlType("varbinary", length=-1)
    if base == "sysname":
        return SqlType("nvarchar", length=128)
    if base == "timestamp":
        return SqlType("binary", length=8)
    if base in _STRING_TYPES or base in _BINARY_TYPES:
        if not params:
            return SqlType(base, length=1)
        if params[0] == "max":
            if base in ("char", "nchar", "binary"):
                raise SqlError(102, f"Incorrect syntax near '{params[0]}'.", severity=15)
            return SqlType(base, length=-1)
        length = int(params[0])
        limit = 4000 if base.startswith("n") else 8000
        if not 1 <= length <= limit:
            raise SqlError(
                2717 if base.startswith("n") else 131,
                f"The size ({length}) given to the type '{base}' exceeds the maximum "
                f"allowed ({limit}).",
                severity=15,
            )
        return SqlType(base, length=length)
    if base in ("decimal", "numeric"):
        precision = int(params[0]) if params else 18
        scale = int(params[1]) if len(params) > 1 else 0
        if not 1 <= precision <= 38 or not 0 <= scale <= precision:
            raise SqlError(
                2750,
                f"Column or parameter #1: Specified column precision {precision} is "
                "greater than the maximum precision of 38.",
                severity=16,
            )
        return SqlType(base, precision=precision, scale=scale)
    if base == "float":
        if params and int(params[0]) <= 24:
            return SqlType("real")
        return SqlType("float")
    if base in _SCALED_TIME:
        scale = int(params[0]) if params else 7
        if not 0 <= scale <= 7:
            raise SqlError(1002, f"Specified scale {scale} is invalid.", severity=16)
        return SqlType(base, scale=scale)
    if base in _FIXED or base == "sql_variant" or base in CLR_TYPE_IDS:
        return SqlType(base)
    raise SqlError(2715, f"Column, parameter, or variable #1: Cannot find data type {name}.")


_TYPE_TEXT = re.compile(r"^\s*([\w\[\]\" ]+?)\s*(?:\(([^)]*)\))?\s*$")


def parse_type_text(text: str) -> SqlType:
    """Parse ``nvarchar(50)``-style text."""
    match = _TYPE_TEXT.match(text)
    if not match:
        raise SqlError(2715, f"Column, parameter, or variable #1: Cannot find data type {text}.")
    args = match.group(2).split(",") if match.group(2) else []
    return parse_type(match.group(1), args)


def duckdb_type(t: SqlType) -> str:
    """The DuckDB column type that stores values of ``t``."""
    if t.name in _STRING_TYPES:
        return "VARCHAR"
    if t.name in _BINARY_TYPES:
        return "BLOB"
    if t.name in ("decimal", "numeric"):
        return f"DECIMAL({t.precision},{t.scale})"
    if t.name == "sql_variant":
        # Values keep their base type's storage; a stored column without one keeps text.
        return duckdb_type(t.base) if t.base is not None else "VARCHAR"
    if is_clr(t):
        return "VARCHAR"  # canonical text, see clr_types
    if t.name in _DUCK_NS and (t.scale is None or t.scale == 7):
        return _DUCK_NS[t.name]
    return _DUCK_FIXED[t.name]


def max_length(t: SqlType) -> int:
    """sys.columns.max_length: bytes, -1 for max."""
    if t.name == "sql_variant":
        return VARIANT_MAX_LENGTH
    if is_clr(t):
        return CLR_MAX_LENGTHS[t.name]
    if t.length is not None:
        if t.length == -1:
            return -1
        return t.length * 2 if t.name in ("nchar", "nvarchar") else t.length
    if t.name in ("decimal", "numeric"):
        p = t.precision or 18
        return 5 if p <= 9 else 9 if p <= 19 else 13 if p <= 28 else 17
    if t.name in _SCALED_TIME:
        s = t.scale if t.scale is not None else 7
        size = 3 if s <= 2 else 4 if s <= 4 else 5
        return size + {"time": 0, "datetime2": 3, "datetimeoffset": 5}[t.name]
    return FIXED_BYTE_LENGTHS.get(t.name, 0)


def numeric_precision(t: SqlType) -> int:
    if t.name in ("decimal", "numeric"):
        return t.precision or 18
    if t.name in _SCALED_TIME:
        s = t.scale if t.scale is not None else 7
        # Character width of the literal: "hh:mm:ss[.fffffff]" etc.
        return {"time": 8, "datetime2": 19, "datetimeoffset": 26}[t.name] + (s + 1 if s else 0)
    return FIXED_PRECISIONS.get(t.name, 0)


def numeric_scale(t: SqlType) -> int:
    if t.name in ("decimal", "numeric") or t.name in _SCALED_TIME:
        return t.scale or 0
    return {"money": 4, "smallmoney": 4, "datetime": 3}.get(t.name, 0)


def is_string(t: SqlType) -> bool:
    return t.name in _STRING_TYPES


def is_collated(t: SqlType) -> bool:
    """Character types that carry a collation (xml does not)."""
    return is_string(t) and t.name != "xml"


def is_binary(t: SqlType) -> bool:
    return t.name in _BINARY_TYPES


def is_clr(t: SqlType) -> bool:
    """hierarchyid, geography, geometry: SQL Server's CLR (assembly) types."""
    return t.name in CLR_TYPE_IDS


_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")


def infer_from_duckdb(duck: str) -> SqlType:
    """The SQL Server type reported for a computed result column of DuckDB type ``duck``."""
    d = duck.upper()
    simple = {
        "BOOLEAN": "bit",
        "UTINYINT": "tinyint",
        "TINYINT": "smallint",
        "SMALLINT": "smallint",
        "USMALLINT": "int",
        "INTEGER": "int",
        "UINTEGER": "bigint",
        "BIGINT": "bigint",
        "FLOAT": "real",
        "DOUBLE": "float",
        "DATE": "date",
        "UUID": "uniqueidentifier",
    }
    if d in simple:
        return SqlType(simple[d])
    if d == "UBIGINT":
        return SqlType("datetime2", scale=7)  # 100 ns ticks, see datetime2_ticks
    if d in ("HUGEINT", "UHUGEINT"):
        return SqlType("bigint")
    match = _DECIMAL.fullmatch(d)
    if match:
        return SqlType("decimal", precision=int(match.group(1)), scale=int(match.group(2)))
    if d.startswith("TIMESTAMP"):
        return SqlType("datetime2", scale=7)
    if d.startswith("TIME"):
        return SqlType("time", scale=7)
    if d == "BLOB":
        return SqlType("varbinary", length=-1)
    if d.startswith("STRUCT(UTC"):
        return SqlType("datetimeoffset", scale=7)
    return SqlType("nvarchar", length=-1)
