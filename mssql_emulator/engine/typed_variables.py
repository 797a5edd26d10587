"""Variables read back by a SELECT keep the type they were declared with.

Values are bound to DuckDB in the form variables hold them (GUIDs and datetimeoffsets as
text, a Decimal with its own digits), so DuckDB alone would report ``SELECT @p`` as
nvarchar or a narrower decimal. SQL Server reports the declared type: a projected variable,
and the argument of ``SQL_VARIANT_PROPERTY``, become a CAST to it before translation.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlglot import exp
from sqlglot.errors import ParseError

from mssql_emulator.contract import SqlType


def cast_declared_variables(select: exp.Expression, types: Mapping[str, SqlType | None]) -> None:
    """Wrap each projected variable of a declared scalar type in a CAST to that type."""
    for node in list(select.find_all(exp.Select)):
        for proj in node.expressions:
            _cast_if_variable(proj.this if isinstance(proj, exp.Alias) else proj, types)
    for call in list(select.find_all(exp.Anonymous)):
        if str(call.this).upper() == "SQL_VARIANT_PROPERTY" and call.expressions:
            _cast_if_variable(call.expressions[0], types)


def _cast_if_variable(node: exp.Expression, types: Mapping[str, SqlType | None]) -> None:
    if not isinstance(node, exp.Parameter) or isinstance(node.this, exp.Parameter):
        return
    declared = types.get(node.name.lower())
    if declared is None or declared.name == "sql_variant":
        return  # a sql_variant keeps its values' own base types
    try:
        to = exp.DataType.build(str(declared), dialect="tsql")
    except ParseError:
        return  # a user table type: not a value a SELECT can read back
    node.replace(exp.Cast(this=node.copy(), to=to))
