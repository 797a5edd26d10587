"""READ UNCOMMITTED: a query reads the rows other sessions' open transactions have written.

A DuckDB transaction's writes are visible to its own connection only. So for a query under
READ UNCOMMITTED, each table it reads that another session's open transaction has written
(found in that transaction's statement log) is read through that session's connection, as
that transaction sees it, and the query runs over those rows instead. A writer busy with a
request of its own is not waited for: its table is then read as committed. When two open
transactions wrote one table, the first one found is read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

import pyarrow as pa

if TYPE_CHECKING:
    from mssql_emulator.engine.session import DuckDBSession

_NAME = r'"(?:[^"]|"")*"'
_WRITE_TARGET = re.compile(
    rf"^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+({_NAME}\.{_NAME}\.{_NAME})", re.I
)


def written_tables(statements: Iterable[str]) -> set[str]:
    """The qualified DuckDB names (``"db"."schema"."table"``) that ``statements`` write."""
    found = (_WRITE_TARGET.match(sql) for sql in statements)
    return {match.group(1) for match in found if match is not None}


def uncommitted_tables(reader: DuckDBSession, sql: str) -> dict[str, pa.Table]:
    """Other sessions' uncommitted view of each table ``sql`` reads, by qualified name."""
    views: dict[str, pa.Table] = {}
    for writer in reader.other_sessions():
        wanted = {name for name in writer.tables_written() if name in sql and name not in views}
        if wanted:
            views.update(writer.own_view(wanted))
    return views


def substitute(sql: str, views: dict[str, str]) -> str:
    """``sql`` reading each qualified table name from the view registered for it."""
    for name, view in views.items():
        sql = _read_from(sql, name, view)
    return sql


def _read_from(sql: str, name: str, view: str) -> str:
    alias = re.findall(_NAME, name)[-1]  # columns still say table.column
    pattern = re.compile(re.escape(name) + r"(\s+AS\b)?", re.I)
    table = f'"temp"."main"."{view}"'  # where the connection registered it
    return pattern.sub(lambda m: table + (m.group(1) or f" AS {alias}"), sql)
