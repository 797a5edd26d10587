"""``SQL_VARIANT_PROPERTY(value, property)``, answered from the base type known before translation.

A result column's sql_variant values share one base type (``results.variant_base_type``),
so each call becomes a constant for its non-NULL rows.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from mssql_emulator.contract import SqlError, SqlType
from mssql_emulator.engine import results, sqltypes
from mssql_emulator.engine.catalog import TableDef

_FUNCTION = "SQL_VARIANT_PROPERTY"
_COLLATION = "SQL_Latin1_General_CP1_CI_AS"
# A stored sql_variant column does not keep its values' base types; they are sent as this.
_UNKNOWN_BASE = SqlType("nvarchar", length=4000)
_RUNTIME_TYPES = [
    "BOOLEAN",
    "UTINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "FLOAT",
    "DOUBLE",
    "DATE",
    "TIME",
    "TIMESTAMP",
    "UUID",
    "BLOB",
]


def property_value(base: SqlType, name: str) -> str | int | None:
    """One property of a base type as SQL Server reports it; None for an unknown property."""
    prop = name.lower()
    if prop == "basetype":
        return base.name
    if prop == "precision":
        return sqltypes.numeric_precision(base)
    if prop == "scale":
        return sqltypes.numeric_scale(base)
    if prop == "maxlength":
        return sqltypes.max_length(base)
    if prop == "collation":
        return _COLLATION if sqltypes.is_string(base) else None
    return None


def resolve_variant_properties(
    select: exp.Expression, lookup: Callable[[exp.Table], TableDef | None]
) -> None:
    """Replace each SQL_VARIANT_PROPERTY call in ``select`` by its constant."""
    for call in list(select.find_all(exp.Anonymous)):
        if str(call.this).upper() != _FUNCTION:
            continue
        args = list(call.expressions)
        if len(args) != 2:
            raise SqlError(
                174, "The sql_variant_property function requires 2 argument(s).", severity=15
            )
        prop = args[1]
        if not isinstance(prop, exp.Literal | exp.National) or not prop.is_string:
            raise SqlError(
                8116, "Argument data type is invalid for argument 2 of sql_variant_property."
            )
        owner = call.find_ancestor(exp.Select)
        sources = results.select_sources(owner, lookup) if owner is not None else []
        base = results.variant_base_type(args[0], sources)
        ifs = [exp.If(this=exp.Is(this=args[0].copy(), expression=exp.Null()), true=exp.Null())]
        if base is None or base.name == "float":
            # Known only when the query runs: the storage type DuckDB reports for the value
            # (sqlglot parses REAL and FLOAT alike, DuckDB stores them as FLOAT and DOUBLE).
            ifs += [
                exp.If(
                    this=exp.EQ(
                        this=exp.Anonymous(this="typeof", expressions=[args[0].copy()]),
                        expression=exp.Literal.string(duck),
                    ),
                    true=_constant(_bounded(sqltypes.infer_from_duckdb(duck)), prop.name),
                )
                for duck in _RUNTIME_TYPES
            ]
        guarded = exp.Case(ifs=ifs, default=_constant(base or _UNKNOWN_BASE, prop.name))
        call.replace(exp.Cast(this=guarded, to=exp.DataType.build("SQL_VARIANT", dialect="tsql")))


def _bounded(base: SqlType) -> SqlType:
    """The form a max-length base type is sent in (see tds.variant_cells)."""
    if base.length != -1:
        return base
    return _UNKNOWN_BASE if base.name == "nvarchar" else SqlType(base.name, length=8000)


def _constant(base: SqlType, prop: str) -> exp.Expression:
    value = property_value(base, prop)
    if value is None:
        return exp.Null()
    if isinstance(value, int):
        return exp.Literal.number(value)
    return exp.Literal.string(value)
