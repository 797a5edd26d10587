"""datetimeoffset in expressions: DuckDB holds it as struct(utc, offset), T-SQL as one value.

Comparisons and ORDER BY use the UTC instant (as SQL Server does), DATEPART reads
the local time, and ``DATEPART(TZOFFSET, x)`` the offset in minutes.  DATEADD moves the
local time and keeps the offset.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)


def is_struct(src: str) -> bool:
    return src.upper().startswith("STRUCT(UTC")


def is_built(node: exp.Expression) -> bool:
    """True for a datetimeoffset value this server built: a conversion or a DATEADD."""
    return isinstance(node, exp.Anonymous) and node.name.lower() == "mssql_dto"


def _dot(node: exp.Expression, field: str) -> exp.Expression:
    return exp.Dot(this=exp.Paren(this=node.copy()), expression=exp.to_identifier(field))


def _as_utc(node: exp.Expression, src: str) -> exp.Expression:
    """The UTC instant of ``node``, whatever T-SQL value it holds."""
    if is_struct(src):
        return _dot(node, "utc")
    if src.upper() in ("VARCHAR", "", "?"):
        text = exp.Cast(this=node.copy(), to=exp.DataType.build("VARCHAR"))
        return _dot(exp.Anonymous(this="mssql_dto_parse", expressions=[text]), "utc")
    return node


def rewrite(node: exp.Expression, guess: Callable[[exp.Expression], str]) -> exp.Expression | None:
    """A replacement for ``node`` when it applies T-SQL semantics to a datetimeoffset."""
    if isinstance(node, _COMPARISONS):
        left, right = node.this, node.expression
        left_src, right_src = guess(left), guess(right)
        if is_struct(left_src) or is_struct(right_src):
            return type(node)(this=_as_utc(left, left_src), expression=_as_utc(right, right_src))
        return None
    if isinstance(node, exp.Ordered) and is_struct(guess(node.this)):
        ordered = node.copy()
        ordered.set("this", _dot(node.this, "utc"))
        return ordered
    if isinstance(node, exp.DateAdd) and is_struct(guess(node.this)):
        return _moved(node)
    if isinstance(node, exp.Extract) and is_struct(guess(node.expression)):
        unit = node.this.name.upper()
        if unit in ("TIMEZONE_MINUTE", "TZOFFSET", "TZ"):
            return exp.Cast(this=_dot(node.expression, "offset"), to=exp.DataType.build("INT"))
        local = exp.Add(
            this=_dot(node.expression, "utc"),
            expression=exp.Anonymous(
                this="to_minutes", expressions=[_dot(node.expression, "offset")]
            ),
        )
        extract = node.copy()
        extract.set("expression", local)
        return extract
    return None


def _local(node: exp.Expression) -> exp.Expression:
    minutes = exp.Anonymous(this="to_minutes", expressions=[_dot(node, "offset")])
    return exp.Paren(this=exp.Add(this=_dot(node, "utc"), expression=minutes))


def _moved(add: exp.DateAdd) -> exp.Expression:
    """DATEADD on a datetimeoffset: the local time moves, the offset stays."""
    value = add.this
    shifted = exp.DateAdd(this=_local(value), expression=add.expression, unit=add.args.get("unit"))
    minutes = exp.Anonymous(this="to_minutes", expressions=[_dot(value, "offset")])
    utc = exp.Cast(
        this=exp.Sub(this=shifted, expression=minutes), to=exp.DataType.build("TIMESTAMP")
    )
    moved = exp.Anonymous(
        this="struct_pack",
        expressions=[
            exp.PropertyEQ(this=exp.to_identifier("utc"), expression=utc),
            exp.PropertyEQ(
                this=exp.to_identifier("offset", quoted=True), expression=_dot(value, "offset")
            ),
        ],
    )
    return exp.Anonymous(this="mssql_dto", expressions=[moved])
