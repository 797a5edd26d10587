"""Result columns: declared types for columns read straight from tables, inferred otherwise."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pyarrow as pa
from sqlglot import exp

from mssql_emulator.contract import Column, SqlType
from mssql_emulator.engine import sqltypes
from mssql_emulator.engine.catalog import ColumnDef, TableDef
from mssql_emulator.engine.translate import tsql_type

Hint = tuple[SqlType, bool, bool] | None  # type, nullable, identity

_FUNCTION_TYPES = {
    "SWITCHOFFSET": SqlType("datetimeoffset", scale=7),
    "TODATETIMEOFFSET": SqlType("datetimeoffset", scale=7),
    "SYSUTCDATETIME": SqlType("datetime2", scale=7),
    "SYSDATETIME": SqlType("datetime2", scale=7),
    "GETUTCDATE": SqlType("datetime"),
    "DB_NAME": SqlType("nvarchar", length=128),
    "SCHEMA_NAME": SqlType("nvarchar", length=128),
    "OBJECT_NAME": SqlType("nvarchar", length=128),
    "OBJECT_ID": SqlType("int"),
    "SCOPE_IDENTITY": SqlType("decimal", precision=38, scale=0),
    "SYSDATETIMEOFFSET": SqlType("datetimeoffset", scale=7),
}


def _hint_for_column(col: ColumnDef) -> Hint:
    return (col.type, col.nullable, col.identity is not None)


Sources = list[tuple[str, TableDef | None]]


def select_sources(select: exp.Select, lookup: Callable[[exp.Table], TableDef | None]) -> Sources:
    """The FROM and JOIN items of ``select`` by alias, with their declared columns if known."""
    sources: Sources = []
    from_ = select.args.get("from_")
    tables = [from_.this] if from_ is not None else []
    tables += [j.this for j in select.args.get("joins") or []]
    for t in tables:
        if isinstance(t, exp.Table):
            sources.append(((t.alias or t.name).lower(), lookup(t)))
        else:
            sources.append(((t.alias or "").lower(), None))
    return sources


def projection_hints(
    select: exp.Expression, lookup: Callable[[exp.Table], TableDef | None]
) -> list[Hint] | None:
    """Declared types of a SELECT's output columns where they are known, before translation."""
    if not isinstance(select, exp.Select):
        return None
    sources = select_sources(select, lookup)
    hints: list[Hint] = []
    for proj in select.expressions:
        node = proj.this if isinstance(proj, exp.Alias) else proj
        if isinstance(node, exp.Star) or (
            isinstance(node, exp.Column) and isinstance(node.this, exp.Star)
        ):
            qualifier = node.table.lower() if isinstance(node, exp.Column) else ""
            chosen = [s for s in sources if not qualifier or s[0] == qualifier]
            if any(t is None for _, t in chosen):
                return None
            for _, t in chosen:
                assert t is not None
                hints.extend(_hint_for_column(c) for c in t.columns)
            continue
        hints.append(expression_hint(node, sources))
    return hints


def expression_hint(node: exp.Expression, sources: Sources) -> Hint:
    """The declared type of an expression where it is known before translation."""
    if isinstance(node, exp.Column):
        qualifier = node.table.lower()
        found: list[ColumnDef] = []
        for alias, t in sources:
            if t is None or (qualifier and alias != qualifier):
                continue
            col = t.column(node.name)
            if col is not None:
                found.append(col)
        return _hint_for_column(found[0]) if len(found) == 1 else None
    if _is_hierarchy_text(node, sources):
        return (SqlType("nvarchar", length=4000), True, False)
    if isinstance(node, exp.Cast | exp.TryCast) and isinstance(node.args.get("to"), exp.DataType):
        return _cast_hint(node.args["to"], node.this, sources)
    if isinstance(node, exp.Convert) and isinstance(node.this, exp.DataType):
        return _cast_hint(node.this, node.expression, sources)
    if isinstance(node, exp.CurrentTimestamp):
        return (SqlType("datetime"), False, False)
    if isinstance(node, exp.DateAdd):
        moved = expression_hint(node.this, sources)  # DATEADD keeps its date's type
        return (moved[0], True, False) if moved is not None else None
    if isinstance(node, exp.Anonymous) and str(node.this).upper() in _FUNCTION_TYPES:
        return (_FUNCTION_TYPES[str(node.this).upper()], True, False)
    if isinstance(node, exp.ObjectId):
        return (SqlType("int"), True, False)
    if (
        isinstance(node, exp.Parameter)
        and isinstance(node.this, exp.Parameter)
        and node.this.name.upper() == "VERSION"
    ):
        return (SqlType("nvarchar", length=300), False, False)
    return None


def _is_hierarchy_text(node: exp.Expression, sources: Sources) -> bool:
    """``h.ToString()`` of a hierarchyid column: nvarchar(4000) in SQL Server."""
    if not isinstance(node, exp.Dot) or not isinstance(node.expression, exp.Anonymous):
        return False
    if node.expression.name.lower() != "tostring":
        return False
    owner = node.this
    if isinstance(owner, exp.Identifier):
        owner = exp.column(owner.name)
    elif isinstance(owner, exp.Dot) and isinstance(owner.this, exp.Identifier):
        owner = exp.column(owner.expression.name, table=owner.this.name)
    hint = expression_hint(owner, sources) if isinstance(owner, exp.Column) else None
    return hint is not None and hint[0].name == "hierarchyid"


def _cast_hint(to: exp.DataType, inner: exp.Expression, sources: Sources) -> Hint:
    try:
        target = tsql_type(to, in_cast=True)
    except Exception:
        return None
    if target.name == "sql_variant":
        return (SqlType("sql_variant", base=variant_base_type(inner, sources)), True, False)
    return (target, True, False)


def variant_base_type(node: exp.Expression, sources: Sources) -> SqlType | None:
    """The base type ``CAST(node AS sql_variant)`` keeps, where it is known."""
    hint = expression_hint(node, sources)
    if hint is not None:
        return hint[0].base if hint[0].name == "sql_variant" else hint[0]
    return _literal_type(node)


def _literal_type(node: exp.Expression) -> SqlType | None:
    """SQL Server's type of a constant: int, numeric(p,s), varchar(n) or nvarchar(n)."""
    if isinstance(node, exp.Neg):
        return _literal_type(node.this)
    if isinstance(node, exp.National):
        return SqlType("nvarchar", length=max(1, len(node.name)))
    if not isinstance(node, exp.Literal):
        return None
    text = node.name
    if node.is_string:
        return SqlType("varchar", length=max(1, len(text)))
    if text.isdigit():
        return SqlType("int") if int(text) < 2**31 else None
    whole, dot, fraction = text.partition(".")
    if dot and (whole + fraction).isdigit():
        digits = len((whole + fraction).lstrip("0")) or 1
        scale = len(fraction)
        return SqlType("decimal", precision=max(digits, scale), scale=scale)
    return None


def projection_names(select: exp.Expression) -> list[str] | None:
    """Column names as SQL Server reports them: unnamed expressions have an empty name."""
    if not isinstance(select, exp.Select):
        return None
    names = []
    for proj in select.expressions:
        if isinstance(proj, exp.Star) or (
            isinstance(proj, exp.Column) and isinstance(proj.this, exp.Star)
        ):
            return None
        if isinstance(proj, exp.Alias | exp.Column):
            names.append(proj.alias_or_name)
        else:
            names.append("")
    return names


def result_columns(
    names: list[str],
    duck_types: list[str],
    hints: list[Hint] | None,
    shown: list[str] | None = None,
) -> list[Column]:
    if hints is not None and len(hints) != len(names):
        hints = None
    if shown is not None and len(shown) == len(names):
        names = shown
    out = []
    for i, (name, duck) in enumerate(zip(names, duck_types, strict=True)):
        hint = hints[i] if hints else None
        if hint is not None and hint[0].name == "sql_variant":
            out.append(Column(name, _variant_type(hint[0], duck), nullable=hint[1]))
        elif hint is not None and _compatible(hint[0], duck):
            out.append(Column(name, hint[0], nullable=hint[1], identity=hint[2]))
        else:
            out.append(Column(name, sqltypes.infer_from_duckdb(duck)))
    return out


def _variant_type(t: SqlType, duck: str) -> SqlType:
    """A sql_variant column with the base type its values really have."""
    if t.base is not None and _compatible(t.base, duck):
        return t
    if t.base is None and duck.upper() == "VARCHAR":
        return t  # a stored sql_variant column: its base types are not kept
    return SqlType("sql_variant", base=sqltypes.infer_from_duckdb(duck))


def _compatible(t: SqlType, duck: str) -> bool:
    """A declared type only applies if DuckDB really yields its storage type."""
    expected = sqltypes.duckdb_type(t).replace(" ", "").upper()
    return expected == duck.replace(" ", "").upper()


_NULL_TARGETS = {
    "bit": pa.bool_(),
    "tinyint": pa.uint8(),
    "smallint": pa.int16(),
    "int": pa.int32(),
    "bigint": pa.int64(),
    "real": pa.float32(),
    "float": pa.float64(),
    "date": pa.date32(),
    "time": pa.time64("us"),
    "datetime": pa.timestamp("us"),
    "smalldatetime": pa.timestamp("us"),
    "datetime2": pa.timestamp("us"),
}


def _target(arrow_type: pa.DataType, column: Column) -> pa.DataType | None:
    """The contract's Arrow type for a column DuckDB yielded as ``arrow_type``, if different."""
    if column.type.base is not None:
        column = Column(column.name, column.type.base)
    name = column.type.name
    if pa.types.is_null(arrow_type):
        if name in ("decimal", "numeric"):
            return pa.decimal128(column.type.precision or 18, column.type.scale or 0)
        if name in ("binary", "varbinary"):
            return pa.binary()
        return _NULL_TARGETS.get(name, pa.string())
    if pa.types.is_timestamp(arrow_type) and (arrow_type.unit not in ("us", "ns") or arrow_type.tz):
        return pa.timestamp("ns" if arrow_type.unit == "ns" else "us")
    if pa.types.is_time32(arrow_type) or (
        pa.types.is_time64(arrow_type) and arrow_type.unit not in ("us", "ns")
    ):
        return pa.time64("us")
    if (
        name == "bigint"
        and not pa.types.is_int64(arrow_type)
        and (pa.types.is_decimal(arrow_type) or pa.types.is_uint64(arrow_type))
    ):
        return pa.int64()
    return None


def cast_batches(
    batches: Iterator[pa.RecordBatch], columns: list[Column], duck_types: list[str]
) -> Iterator[pa.RecordBatch]:
    """Arrow batches adjusted to the contract's representation of each column type."""
    targets: list[pa.DataType | None] | None = None
    for batch in batches:
        if targets is None:
            targets = [_target(f.type, c) for f, c in zip(batch.schema, columns, strict=True)]
        if any(t is not None for t in targets):
            arrays = [
                arr if t is None else arr.cast(t)
                for arr, t in zip(batch.columns, targets, strict=True)
            ]
            batch = pa.RecordBatch.from_arrays(arrays, names=batch.schema.names)
        yield batch
