"""Temporary tables (``#t``, ``##t``) and table variables (``@t``) of one session.

They live in DuckDB's connection-local ``temp`` catalog: every session has its own DuckDB
connection, so they are private to it and vanish when it disconnects, as SQL Server drops
a session's temporary tables. DuckDB lets one transaction write to ``temp`` and one
database, so a temporary table can be filled inside any user transaction. Each session
keeps their declarations in a ``DatabaseCatalog`` of its own (no ``__sys`` rows: they
are not listed by the database's catalog views). ``##global`` tables are private to
the session here too.
"""

from __future__ import annotations

import re
from collections.abc import Container
from typing import TYPE_CHECKING

import duckdb
from sqlglot import exp

from mssql_emulator.contract import StatementResult
from mssql_emulator.engine.catalog import DatabaseCatalog

if TYPE_CHECKING:
    from mssql_emulator.engine.session import DuckDBSession

TEMP_DATABASE = "temp"  # DuckDB's catalog of the connection's temporary objects
TEMP_SCHEMA = "main"
# DECLARE @name [AS] TABLE (columns …)
TABLE_VARIABLE = re.compile(r"^DECLARE\s+@(\w+)\s+(?:AS\s+)?TABLE\s*(\(.*\))\s*;?\s*$", re.I | re.S)


def new_catalog() -> DatabaseCatalog:
    return DatabaseCatalog(TEMP_DATABASE, 2)


def is_temp_name(name: str) -> bool:
    return name.startswith(("#", "@"))


def special_name(node: exp.Table, variables: Container[str] = ()) -> str | None:
    """``#t``, ``##t`` or ``@t`` for a temporary table or table variable, else None.

    A name among ``variables`` is a table-valued parameter, not a table variable.
    """
    this = node.this
    if (
        isinstance(this, exp.Parameter)
        and not isinstance(this.this, exp.Parameter)
        and this.name.lower() not in variables
    ):
        return "@" + this.name
    if isinstance(this, exp.Identifier):
        if this.args.get("global_"):
            return "##" + this.name
        if this.args.get("temporary"):
            return "#" + this.name
    return None


def mark_special_names(node: exp.Expression, variables: Container[str] = ()) -> None:
    """Give temporary tables and table variables their full names as quoted identifiers."""
    for table in list(node.find_all(exp.Table)):
        name = special_name(table, variables)
        if name is not None:
            table.set("this", exp.to_identifier(name, quoted=True))
            if not table.alias and name.startswith("@"):
                table.set("alias", exp.TableAlias(this=exp.to_identifier(name[1:])))


def sequence_name(database: str, object_id: int) -> str:
    """The DuckDB sequence backing a table's identity column."""
    if database == TEMP_DATABASE:
        return f'"{TEMP_DATABASE}"."{TEMP_SCHEMA}"."seq_{object_id}"'
    return '"' + database.replace('"', '""') + f'"."__sys"."seq_{object_id}"'


def prune(con: duckdb.DuckDBPyConnection, catalog: DatabaseCatalog) -> None:
    """Forget temporary tables a rollback removed (their CREATE was rolled back)."""
    if not catalog.objects:
        return
    existing = {
        row[0].lower()
        for row in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'temp'"
        ).fetchall()
    }
    for table in list(catalog.objects.values()):
        if table.name.lower() not in existing:
            catalog.remove(table)


def declare_table_variable(session: DuckDBSession, match: re.Match[str]) -> StatementResult:
    """``DECLARE @t TABLE (…)``: a temporary table named ``@t`` (a new one each time)."""
    from mssql_emulator.engine import ddl  # ddl names temporary tables through this module

    name = "@" + match.group(1)
    if session.temp_catalog.get(TEMP_SCHEMA, name) is not None:
        # Table variables live for one batch; a later batch may declare the name again.
        ddl.drop(session, "TABLE", True, f"[{name}]")
    return ddl.create_table(session, f"CREATE TABLE [{name}] {match.group(2)}")
