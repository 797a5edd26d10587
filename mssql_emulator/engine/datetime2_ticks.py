"""Where datetime2(7) values (DuckDB UBIGINT, 100 ns ticks since 0001-01-01) stay ticks.

A datetime2(7) column, variable or CAST keeps its ticks where the 7th digit matters and DuckDB
can use a count as it is: projected by the outermost query (or the query an INSERT,
SELECT INTO or view reads), sorted, grouped, counted, tested for NULL, cast
(``conversions`` reads ticks), inserted, assigned to another datetime2(7) column, or
compared with datetime2(7) values, dates, datetimes or text (which become ticks).
MIN, MAX, FIRST_VALUE and LAST_VALUE of ticks, COALESCE/ISNULL/CASE/IIF among them and
DATEADD on them are ticks too, and are placed by the same rules.  DATEPART and DATEDIFF
of nanoseconds and microseconds read the ticks.  Anywhere else the value is lowered to a
microsecond TIMESTAMP, as every datetime2 was before.  Variables hold a Python datetime
or text (see variable_values), and are read as ticks first.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from mssql_emulator.engine import time_ticks

SrcOf = Callable[[exp.Expression], str]

_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ, exp.Between)
_KEEPING = (exp.Cast, exp.Convert, exp.Ordered, exp.Group, exp.Is, exp.Count)
_PICKS = (exp.Max, exp.Min, exp.FirstValue, exp.LastValue)
# Functions whose translation converts their arguments from ticks themselves.
_CONVERTING = ("SWITCHOFFSET", "TODATETIMEOFFSET")
_TICKS = "UBIGINT"
_DATES = ("TIMESTAMP", "DATE")
_TICKS_PER = {
    **dict.fromkeys(("MICROSECOND", "MCS"), 10),
    **dict.fromkeys(("NANOSECOND", "NS"), 0.01),
}
_NANOS_PER_TICK = 100
# Macros from conversions.MACROS whose result is ticks; mssql_dt2 only marks an expression.
TICK_FUNCTIONS = (
    "mssql_dt2",
    "mssql_dt2_parse",
    "mssql_dt2_var",
    "mssql_dt2_ticks",
    "mssql_dt2_add",
    "mssql_dto_local",  # a datetimeoffset's local date and time
)


def keep_ticks(node: exp.Expression, src_of: SrcOf) -> exp.Expression:
    """``node`` with each datetime2(7) operand DuckDB cannot use as ticks lowered."""
    for ref in list(node.find_all(exp.Column, exp.Parameter, exp.Cast, exp.Convert)):
        if not _within(ref, node) or isinstance(ref.parent, exp.Parameter):
            continue  # moved into a lowered copy, or the @ of @@name
        if _src(ref, src_of) != _TICKS:
            continue
        if isinstance(ref, exp.Parameter):
            ref, node = _put(node, ref, _call("mssql_dt2_var", ref.copy()))
        while (up := _ticks_above(ref, src_of)) is not None:
            ref, node = _put(node, up[0], up[1])
        read = _read(ref, src_of)
        if read is not None:
            node = _swap(node, read[0], read[1])
        elif not _keeps(ref, src_of):
            lowered = _call("mssql_dt2_ts", ref.copy())
            if isinstance(ref, exp.Column) and isinstance(ref.parent, exp.Select):
                # the column keeps its name
                lowered = exp.Alias(this=lowered, alias=ref.this.copy())
            node = _swap(node, ref, lowered)
    return node


def is_ticks(node: exp.Expression) -> bool:
    """True for the expressions this module builds that yield ticks."""
    return isinstance(node, exp.Anonymous) and node.name.lower() in TICK_FUNCTIONS


def _within(ref: exp.Expression, node: exp.Expression) -> bool:
    up: object = ref
    while isinstance(up, exp.Expression) and up is not node:
        up = up.parent
    return up is node


def _call(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def _swap(root: exp.Expression, old: exp.Expression, new: exp.Expression) -> exp.Expression:
    if old is new:
        return root
    if old is root:
        return new
    old.replace(new)
    return root


def _put(
    root: exp.Expression, old: exp.Expression, new: exp.Expression
) -> tuple[exp.Expression, exp.Expression]:
    return new, _swap(root, old, new)


def _ticks_above(
    ref: exp.Expression, src_of: SrcOf
) -> tuple[exp.Expression, exp.Expression] | None:
    """(node, replacement) when the expression around ``ref`` is ticks too."""
    parent = ref.parent
    if isinstance(parent, exp.DateAdd) and parent.this is ref:
        # The operands move (not copies), so references inside them stay in the tree.
        return parent, added(parent.this, parent.expression, parent.args.get("unit"))
    if isinstance(parent, exp.Cast | exp.Convert) and _src(parent, src_of) == _TICKS:
        return parent, parent  # a CAST to datetime2(7) of ticks is ticks
    if isinstance(parent, _PICKS):
        picked = parent.parent if isinstance(parent.parent, exp.Window) else parent
        return picked, _call("mssql_dt2", picked.copy())
    chooser = _chooser(ref)
    if chooser is not None and _branches_lift(ref, src_of):
        return chooser, _call("mssql_dt2", chooser.copy())
    scalar = _scalar_subquery(ref)
    if scalar is not None:
        return scalar, _call("mssql_dt2", scalar.copy())
    return None


def _scalar_subquery(ref: exp.Expression) -> exp.Expression | None:
    """The ``(SELECT ref FROM …)`` used as a value that yields ``ref``."""
    node = ref.parent if isinstance(ref.parent, exp.Alias) else ref
    select = node.parent
    if not isinstance(select, exp.Select) or select.expressions != [node]:
        return None
    query = select.parent
    if not isinstance(query, exp.Subquery) or query.alias:
        return None
    if isinstance(query.parent, exp.From | exp.Join | exp.Exists | exp.In | exp.SetOperation):
        return None
    return query


def added(
    ref: exp.Expression, count: exp.Expression, unit_node: exp.Expression | None
) -> exp.Expression:
    """DATEADD on ticks: microseconds and nanoseconds add ticks, larger units move the
    microsecond part and keep the 7th digit; out of datetime2's range is error 517."""
    unit = (unit_node.name if unit_node is not None else "").upper() or "DAY"
    if unit in _TICKS_PER:
        ticks = exp.Mul(
            this=exp.Cast(this=count, to=exp.DataType.build("double")),
            expression=exp.Literal.number(_TICKS_PER[unit]),
        )
        return _call("mssql_dt2_add", ref, ticks)
    lowered = _call("mssql_dt2_ts", ref.copy())
    shifted = exp.DateAdd(this=lowered, expression=count, unit=unit_node)
    digit = exp.Mod(this=exp.Paren(this=ref), expression=exp.Literal.number(10))
    return _call("mssql_dt2_add", _call("mssql_dt2_count", shifted), digit)


def _read(ref: exp.Expression, src_of: SrcOf) -> tuple[exp.Expression, exp.Expression] | None:
    """(node, replacement) for functions that read the ticks themselves: DATEPART and
    DATEDIFF of nanoseconds or microseconds, and CONCAT's text."""
    parent = ref.parent
    if isinstance(parent, exp.Concat):
        return ref, _call("mssql_dt2_text", ref.copy())
    if isinstance(parent, exp.Extract) and parent.name.upper() in ("NANOSECOND", "NS"):
        return parent, _call("mssql_dt2_nanos", ref.copy())
    if isinstance(parent, exp.TimeStrToTime) and isinstance(parent.parent, exp.DateDiff):
        diff = parent.parent
        unit = diff.text("unit").upper()
        other = diff.expression if diff.this is parent else diff.this
        if isinstance(other, exp.TimeStrToTime):
            other = other.this
        if unit not in _TICKS_PER or not _liftable(other, src_of):
            return None
        end, start = (ref, other) if diff.this is parent else (other, ref)
        nanos = unit in ("NANOSECOND", "NS")
        span = _call(
            "mssql_dt2_span",
            _as_ticks(end.copy(), src_of),
            _as_ticks(start.copy(), src_of),
            exp.Literal.number(1 if nanos else 10),  # microseconds count boundaries crossed
            exp.Literal.number(_NANOS_PER_TICK if nanos else 1),
        )
        return diff, exp.Cast(
            this=span, to=exp.DataType.build("bigint" if diff.args.get("big_int") else "int")
        )
    return None


def _as_ticks(node: exp.Expression, src_of: SrcOf) -> exp.Expression:
    """``node`` (ticks, text, date or datetime) as ticks."""
    holder = exp.Paren(this=node)
    _lift(node, src_of)
    lifted: exp.Expression = holder.this
    return lifted


def _keeps(ref: exp.Expression, src_of: SrcOf) -> bool:
    node: exp.Expression = ref
    parent = node.parent
    while isinstance(parent, exp.Paren):
        node, parent = parent, parent.parent
    if parent is None or isinstance(parent, _KEEPING):
        return True
    if isinstance(parent, exp.Distinct) and isinstance(parent.parent, exp.Count):
        return True
    if isinstance(parent, exp.Anonymous) and parent.name.upper() in _CONVERTING:
        return True
    if isinstance(parent, exp.Alias):
        node, parent = parent, parent.parent
    if isinstance(parent, exp.Select):
        return node in parent.expressions and _projection_keeps(parent, node, src_of)
    if isinstance(parent, exp.EQ) and isinstance(parent.parent, exp.Update):
        return parent.this is node or _src(parent.this, src_of) == _TICKS
    if isinstance(parent, _COMPARISONS) or (
        isinstance(parent, exp.In) and parent.this is node and not parent.args.get("query")
    ):
        return _lift_all([v for v in parent.iter_expressions() if v is not node], src_of)
    return isinstance(parent, exp.Tuple) and isinstance(parent.parent, exp.Values)


def _projection_keeps(select: exp.Select, node: exp.Expression, src_of: SrcOf) -> bool:
    """Ticks stay in a query's result unless a UNION mixes them with other values at that
    position, or ``x IN (SELECT …)`` compares them with what cannot become ticks."""
    query = select.parent
    if isinstance(query, exp.Subquery) and isinstance(query.parent, exp.In):
        return _lift_all([query.parent.this], src_of)
    if not isinstance(query, exp.SetOperation):
        return True
    while isinstance(query.parent, exp.SetOperation):
        query = query.parent
    at = select.expressions.index(node)
    for branch in query.find_all(exp.Select):
        if branch.parent_select is not select.parent_select:
            continue  # a subquery inside a branch
        values = branch.expressions
        if at >= len(values) or not _yields_ticks(values[at], src_of):
            return False
    return True


def _yields_ticks(node: exp.Expression, src_of: SrcOf) -> bool:
    """True when ``node`` is, or will be once rewritten, a datetime2(7) value as ticks."""
    while isinstance(node, (exp.Alias, exp.Paren, exp.Window, exp.DateAdd, *_PICKS)):
        node = node.this
    return is_ticks(node) or _src(node, src_of) == _TICKS


def _chooser(node: exp.Expression) -> exp.Expression | None:
    """The COALESCE, ISNULL, CASE or IIF that may yield ``node``."""
    parent = node.parent
    if isinstance(parent, exp.Coalesce):
        return parent
    if isinstance(parent, exp.If) and node is not parent.this:
        return parent.parent if isinstance(parent.parent, exp.Case) else parent
    if isinstance(parent, exp.Case) and node is parent.args.get("default"):
        return parent
    return None


def _branches_lift(node: exp.Expression, src_of: SrcOf) -> bool:
    """COALESCE, ISNULL, CASE or IIF choosing ``node``: its other values become ticks too."""
    others = time_ticks.other_branches(node)
    return others is not None and _lift_all(others, src_of)


def _lift_all(values: list[exp.Expression], src_of: SrcOf) -> bool:
    """Turn every value into ticks, or none (False) when one cannot be."""
    if not all(_liftable(v, src_of) for v in values):
        return False
    for value in values:
        _lift(value, src_of)
    return True


def _liftable(node: exp.Expression, src_of: SrcOf) -> bool:
    if isinstance(node, exp.Null) or is_ticks(node):
        return True
    return _src(node, src_of) in (_TICKS, "VARCHAR", *_DATES)


def _lift(node: exp.Expression, src_of: SrcOf) -> None:
    """Turn a text, date or datetime operand into ticks, in place."""
    src = _src(node, src_of)
    if isinstance(node, exp.Null) or is_ticks(node) or src == _TICKS:
        return
    lift = "mssql_dt2_var" if src == "VARCHAR" else "mssql_dt2_ticks"
    node.replace(_call(lift, node.copy()))


def _src(node: exp.Expression, src_of: SrcOf) -> str:
    try:
        return src_of(node)
    except KeyError:  # a variable of a type without DuckDB storage (table, ntext)
        return ""
