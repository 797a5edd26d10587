"""Where time(7) values (DuckDB TIME_NS) keep their 100 ns ticks inside an expression.

DuckDB 2.0.1 stores TIME_NS but has little else for it: no arithmetic, no DATEADD or
DATEDIFF, and no mixing with TIME in comparisons, COALESCE or CASE.  A time(7) column
or variable therefore keeps TIME_NS only where it is projected, cast, sorted, grouped,
aggregated by MIN/MAX, compared with other time(7) values or text, chosen by COALESCE or
CASE among time values (the others are raised to time(7)), or moved by DATEADD of hours
down to nanoseconds; anywhere else it is lowered to microseconds (time(6)), as every
time value was before.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

_COMPARISONS = (
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.NullSafeEQ,
    exp.Between,
    exp.In,
)
_KEEPING = (
    exp.Alias,
    exp.Cast,
    exp.Convert,
    exp.Ordered,
    exp.Group,
    exp.Max,
    exp.Min,
    exp.Is,
    exp.Count,
)
_UNIT_NANOS = {
    **dict.fromkeys(("HOUR", "HH"), 3_600_000_000_000),
    **dict.fromkeys(("MINUTE", "MI", "N"), 60_000_000_000),
    **dict.fromkeys(("SECOND", "SS", "S"), 1_000_000_000),
    **dict.fromkeys(("MILLISECOND", "MS"), 1_000_000),
    **dict.fromkeys(("MICROSECOND", "MCS"), 1_000),
    **dict.fromkeys(("NANOSECOND", "NS"), 1),
}
_ADD = "mssql_time_ns_add"
_MICROS = exp.DataType.build("time(6)", dialect="tsql")
_TICKS = exp.DataType.build("time(7)", dialect="tsql")


def keep_ticks(node: exp.Expression, src_of: Callable[[exp.Expression], str]) -> exp.Expression:
    """``node`` with each time(7) operand DuckDB cannot use as TIME_NS lowered or replaced."""
    refs: list[exp.Expression] = list(node.find_all(exp.Column, exp.Parameter))
    for ref in refs:
        if isinstance(ref.parent, exp.Parameter) or _src(ref, src_of) != "TIME_NS":
            continue
        if isinstance(ref, exp.Parameter):
            # Variables hold a Python time (TIME) or text; their declared type is time(7).
            ticks = exp.Cast(this=ref.copy(), to=_TICKS.copy())
            node = _swap(node, ref, ticks)
            ref = ticks
        while isinstance(ref.parent, exp.DateAdd) and ref.parent.this is ref:
            add = ref.parent
            if not _sub_day(add):
                break
            ref = _added(add)
            node = _swap(node, add, ref)
        if not _keeps(ref, src_of):
            node = _swap(node, ref, exp.Cast(this=ref.copy(), to=_MICROS.copy()))
    return node


def _swap(root: exp.Expression, old: exp.Expression, new: exp.Expression) -> exp.Expression:
    if old is root:
        return new
    old.replace(new)
    return root


def _sub_day(add: exp.DateAdd) -> bool:
    return add.text("unit").upper() in _UNIT_NANOS


def _added(add: exp.DateAdd) -> exp.Expression:
    """DATEADD of hours down to nanoseconds, done on the nanoseconds since midnight."""
    # The operands move (not copies), so column references inside them stay in the tree.
    count = exp.Cast(this=add.expression, to=exp.DataType.build("bigint"))
    nanos = exp.Mul(
        this=count, expression=exp.Literal.number(_UNIT_NANOS[add.text("unit").upper()])
    )
    return exp.Anonymous(this=_ADD, expressions=[add.this, nanos])


def _keeps(ref: exp.Expression, src_of: Callable[[exp.Expression], str]) -> bool:
    node: exp.Expression = ref
    parent = node.parent
    while isinstance(parent, exp.Paren):
        node, parent = parent, parent.parent
    if parent is None or isinstance(parent, _KEEPING):
        return True
    if isinstance(parent, exp.Select):
        return node in parent.expressions
    others = other_branches(node)
    if others is not None:
        return _lift(others, src_of)
    if isinstance(parent, exp.EQ) and isinstance(parent.parent, exp.Update):
        return parent.this is node or _ticked(parent.this, src_of)
    if isinstance(parent, _COMPARISONS):
        operands = [v for v in parent.iter_expressions() if v is not node]
        return all(_ticked(v, src_of) for v in operands)
    return isinstance(parent, exp.Tuple) and isinstance(parent.parent, exp.Values)


def other_branches(node: exp.Expression) -> list[exp.Expression] | None:
    """The other values a COALESCE, ISNULL, CASE or IIF choosing ``node`` may yield."""
    parent = node.parent
    values: list[exp.Expression | None]
    if isinstance(parent, exp.Coalesce):
        values = [parent.this, *parent.expressions]
    elif isinstance(parent, exp.If) and node is not parent.this:
        case = parent.parent
        if isinstance(case, exp.Case):
            values = _case_values(case)
        else:
            values = [parent.args.get("true"), parent.args.get("false")]
    elif isinstance(parent, exp.Case) and node is parent.args.get("default"):
        values = _case_values(parent)
    else:
        return None
    return [v for v in values if v is not None and v is not node]


def _case_values(case: exp.Case) -> list[exp.Expression | None]:
    return [i.args.get("true") for i in case.args.get("ifs") or []] + [case.args.get("default")]


def _lift(others: list[exp.Expression], src_of: Callable[[exp.Expression], str]) -> bool:
    """Cast other time values to time(7) so all branches are TIME_NS; False if one is not."""
    if not all(_ticked(v, src_of) or _src(v, src_of) == "TIME" for v in others):
        return False
    for value in others:
        if not _ticked(value, src_of):
            value.replace(exp.Cast(this=value.copy(), to=_TICKS.copy()))
    return True


def _ticked(node: exp.Expression, src_of: Callable[[exp.Expression], str]) -> bool:
    """True when ``node`` compares with TIME_NS as DuckDB requires (TIME_NS, text or NULL)."""
    while isinstance(node, exp.Paren | exp.Subquery | exp.Alias | exp.Max | exp.Min):
        node = node.this
    if isinstance(node, exp.Select):
        return len(node.expressions) == 1 and _ticked(node.expressions[0], src_of)
    if isinstance(node, exp.Null) or (isinstance(node, exp.Literal) and node.is_string):
        return True
    if isinstance(node, exp.Cast):
        return node.to.sql("tsql").lower() in ("time", "time(7)")
    if isinstance(node, exp.Anonymous):
        return node.name == _ADD
    return _src(node, src_of) == "TIME_NS"


def _src(node: exp.Expression, src_of: Callable[[exp.Expression], str]) -> str:
    try:
        return src_of(node)
    except KeyError:  # a variable of a type without DuckDB storage (table, ntext)
        return ""
