"""datetimeoffset in expressions: DuckDB holds it as struct(utc, offset), T-SQL as one value.

Comparisons and ORDER BY use the UTC instant (as SQL Server does), DATEPART reads
the local time, and ``DATEPART(TZOFFSET, x)`` the offset in minutes.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)


def is_struct(src: str) -> bool:
    return src.upper().startswith("STRUCT(UTC")


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
