"""datetimeoffset in expressions: DuckDB holds it as struct(utc, offset), T-SQL as one value.

``utc`` counts 100 ns ticks since 0001-01-01 UTC (as datetime2(7) does, see
datetime2_ticks) and ``offset`` minutes east of UTC.  Comparisons and ORDER BY use the
UTC instant (as SQL Server does), DATEPART reads the local time, and
``DATEPART(TZOFFSET, x)`` the offset in minutes.  DATEADD moves the local time and keeps
the offset.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from mssql_emulator.engine import datetime2_ticks

_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)
_TICKS_PER_MINUTE = 600_000_000


def is_struct(src: str) -> bool:
    return src.upper().startswith("STRUCT(UTC")


def is_built(node: exp.Expression) -> bool:
    """True for a datetimeoffset value this server built: a conversion or a DATEADD."""
    return isinstance(node, exp.Anonymous) and node.name.lower() == "mssql_dto"


def local_ticks(node: exp.Expression) -> exp.Expression:
    """The local date and time of a datetimeoffset, as datetime2(7) ticks."""
    return _call("mssql_dto_local", node.copy())


def _call(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def _dot(node: exp.Expression, field: str) -> exp.Expression:
    return exp.Dot(this=exp.Paren(this=node.copy()), expression=exp.to_identifier(field))


def _bigint(node: exp.Expression) -> exp.Expression:
    return exp.Cast(this=node, to=exp.DataType.build("BIGINT"))


def _as_utc(node: exp.Expression, src: str) -> exp.Expression:
    """The UTC instant of ``node`` in ticks, whatever T-SQL value it holds; values without
    an offset are taken as UTC, as SQL Server converts them."""
    if is_struct(src):
        return _dot(node, "utc")
    if src.upper() == "UBIGINT":  # datetime2(7) ticks
        return _bigint(node.copy())
    if src.upper() in ("VARCHAR", "", "?"):
        text = exp.Cast(this=node.copy(), to=exp.DataType.build("VARCHAR"))
        return _dot(_call("mssql_dto_parse", text), "utc")
    instant = exp.Cast(this=node.copy(), to=exp.DataType.build("TIMESTAMP"))
    return _bigint(_call("mssql_dt2_count", instant))


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
        extract = node.copy()
        extract.set("expression", _call("mssql_dt2_ts", local_ticks(node.expression)))
        return extract
    return None


def _moved(add: exp.DateAdd) -> exp.Expression:
    """DATEADD on a datetimeoffset: the local time moves, the offset stays."""
    value = add.this
    offset = _dot(value, "offset")
    local = datetime2_ticks.added(local_ticks(value), add.expression, add.args.get("unit"))
    shift = exp.Mul(this=_bigint(offset.copy()), expression=exp.Literal.number(_TICKS_PER_MINUTE))
    utc = exp.Sub(this=_bigint(local), expression=shift)
    return _call("mssql_dto", _call("mssql_dto_at", utc, offset))
