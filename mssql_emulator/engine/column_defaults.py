"""Column DEFAULT definitions as the DuckDB expressions a table's storage uses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mssql_emulator.contract import SqlType
from mssql_emulator.engine import conversions
from mssql_emulator.engine.tsql_text import parse_tsql

if TYPE_CHECKING:
    from mssql_emulator.engine.session import DuckDBSession

# Storage DuckDB cannot fill from a date-time default by itself (datetime2(7) and
# datetimeoffset hold ticks), so their defaults are converted as an INSERT converts values.
_DATE_AND_TIME = {"date", "time", "datetime", "smalldatetime", "datetime2", "datetimeoffset"}


def default_sql(session: DuckDBSession, default: str, col_type: SqlType) -> str:
    """The DuckDB SQL of a column's DEFAULT (``(expr)`` as written in T-SQL)."""
    text = default.strip()
    while text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    node = parse_tsql("SELECT " + text).expressions[0]
    translator = session.translator()
    value = translator.rewrite(node)
    if col_type.name in _DATE_AND_TIME:
        return conversions.cast_expr(value.sql("duckdb"), col_type, translator.guess_src(value))
    return value.sql("duckdb")
