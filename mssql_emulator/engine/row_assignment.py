"""``SELECT @v = f(@v, col) FROM …``: one assignment per row, in the query's row order.

SQL Server evaluates a variable-assigning SELECT once per row, so an expression reading the
variable it assigns sees the value the previous row left (``@list = @list + ', ' + name``).
The query runs once for the parts of each expression that only read columns; what reads the
assigned variables is then evaluated row after row with those parts bound as variables.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from mssql_emulator.engine import results

if TYPE_CHECKING:
    from mssql_emulator.engine.session import DuckDBSession

Coerce = Callable[[str, Any], Any]
_ROW_PREFIX = "__row_value_"


def accumulates(node: exp.Select, keys: list[str]) -> bool:
    """Whether an assignment over rows reads a variable the statement assigns."""
    if node.args.get("from_") is None:
        return False
    wanted = set(keys)
    return any(_reads(p.expression, wanted) for p in node.expressions)


def _reads(node: exp.Expression, keys: set[str]) -> bool:
    return any(p.name.lower() in keys for p in node.find_all(exp.Parameter))


def _per_row(node: exp.Expression) -> bool:
    return node.find(exp.Column, exp.Subquery) is not None


def _split(
    expression: exp.Expression, keys: set[str], leaves: list[exp.Expression]
) -> exp.Expression:
    """``expression`` with each largest column-reading part free of ``keys`` made a variable."""

    def replace(node: exp.Expression) -> exp.Expression:
        if _reads(node, keys) or not _per_row(node) or isinstance(node, exp.Star):
            return node
        leaves.append(node.copy())
        return exp.Parameter(this=exp.Var(this=f"{_ROW_PREFIX}{len(leaves) - 1}"))

    return expression.copy().transform(replace)


def assign_per_row(
    session: DuckDBSession, node: exp.Select, keys: list[str], coerce: Coerce
) -> int:
    """Assign ``keys`` from each row of ``node`` in turn; the number of rows."""
    wanted = set(keys)
    leaves: list[exp.Expression] = []
    steps = [_split(p.expression, wanted, leaves) for p in node.expressions]
    source = node.copy()
    projection = [leaf.as_(f"{_ROW_PREFIX}{i}") for i, leaf in enumerate(leaves)]
    source.set("expressions", projection or [exp.Literal.number(1)])
    relation = session.relation(session.translator().sql(source))
    names = [f"{_ROW_PREFIX}{i}" for i in range(len(leaves))]
    duck_types = [str(t) for t in relation.types][: len(names)]
    columns = results.result_columns(names, duck_types, None, None)
    rows = relation.fetchall()
    try:
        for name, column in zip(names, columns, strict=False):
            session.variable_types[name] = column.type
        _run_rows(session, rows, names, list(zip(keys, steps, strict=True)), coerce)
    finally:
        for name in names:
            session.variables.pop(name, None)
            session.variable_types.pop(name, None)
    return len(rows)


def _run_rows(
    session: DuckDBSession,
    rows: list[tuple[Any, ...]],
    names: list[str],
    steps: list[tuple[str, exp.Expression]],
    coerce: Coerce,
) -> None:
    compiled: dict[int, str] = {}
    for row in rows:
        for name, value in zip(names, row, strict=False):
            session.variables[name] = value
        for index, (key, step) in enumerate(steps):
            sql = compiled.get(index)
            if sql is None:
                translator = session.translator()
                sql = translator.sql(exp.Select(expressions=[step.copy()]))
                if not translator.scope.volatile:
                    compiled[index] = sql
            session.variables[key] = coerce(key, session.rows(sql)[0][0])
