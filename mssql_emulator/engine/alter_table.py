"""ALTER TABLE … ADD / DROP COLUMN / ALTER COLUMN, keeping the catalog in step.

Also ``[WITH CHECK | NOCHECK] CHECK | NOCHECK CONSTRAINT`` switching foreign keys.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from mssql_emulator.contract import SqlError, StatementResult
from mssql_emulator.engine import (
    column_defaults,
    errors,
    foreign_key_checks,
    sqltypes,
    system_tables,
)
from mssql_emulator.engine.catalog import DatabaseCatalog, TableDef
from mssql_emulator.engine.table_parser import parse_column_defs
from mssql_emulator.engine.tsql_text import split_name

if TYPE_CHECKING:
    from mssql_emulator.engine.session import DuckDBSession

_NAME = r"((?:\[[^\]]+\]|\"[^\"]+\"|[\w#@$]+)(?:\s*\.\s*(?:\[[^\]]+\]|\"[^\"]+\"|[\w#@$]*))*)"
ALTER_TABLE = re.compile(
    rf"^ALTER\s+TABLE\s+{_NAME}\s+(ADD|DROP\s+COLUMN|ALTER\s+COLUMN|"
    r"(?:WITH\s+(?:NO)?CHECK\s+)?(?:NO)?CHECK\s+CONSTRAINT)\s+(.+)$",
    re.I | re.S,
)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def run(session: DuckDBSession, match: re.Match[str]) -> StatementResult:
    _, catalog, table = session.translator().resolve_table(
        split_name(match.group(1)), match.group(1)
    )
    action = " ".join(match.group(2).upper().split())
    body = match.group(3)
    db = catalog.name
    if action.endswith("CHECK CONSTRAINT"):
        return _switch_constraints(session, db, table, action, body)
    target = f"{_q(db)}.{_q(table.schema)}.{_q(table.name)}"
    with session.write_scope(db), catalog.lock:
        if action == "ADD":
            _add(session, target, table, body)
        elif action == "DROP COLUMN":
            _drop(session, target, table, body)
        else:
            _alter(session, target, table, body)
        _rewrite_rows(session, db, catalog, table)
        session.mark_ddl()
    return StatementResult()


def _switch_constraints(
    session: DuckDBSession, db: str, table: TableDef, action: str, body: str
) -> StatementResult:
    names = [split_name(n)[-1] for n in body.split(",") if n.strip()]
    chosen = None if [n.upper() for n in names] == ["ALL"] else names
    enabled = not action.endswith("NOCHECK CONSTRAINT")
    validate = action.startswith("WITH CHECK")
    foreign_key_checks.set_enabled(session, db, table, chosen, enabled=enabled, validate=validate)
    return StatementResult()


def _add(session: DuckDBSession, target: str, table: TableDef, body: str) -> None:
    spec = parse_column_defs(body)
    for col in spec.columns:
        if table.column(col.name) is not None:
            raise SqlError(
                2705,
                f"Column names in each table must be unique. Column name '{col.name}' in "
                f"table '{table.name}' is specified more than once.",
            )
        if col.identity is not None:
            raise errors.not_supported("ALTER TABLE ADD IDENTITY column")
        piece = f"{_q(col.name)} {sqltypes.duckdb_type(col.type)}"
        if col.default is not None:
            piece += f" DEFAULT ({column_defaults.default_sql(session, col.default, col.type)})"
        elif not col.nullable:
            raise SqlError(
                4901,
                "ALTER TABLE only allows columns to be added that can contain nulls, or have a "
                "DEFAULT definition specified, or the column being added is an identity or "
                "timestamp column, or alternatively if none of the previous conditions are "
                f"satisfied the table must be empty to allow addition of this column. Column "
                f"'{col.name}' cannot be added to non-empty table '{table.name}' because it "
                "does not satisfy these conditions.",
            )
        if not col.nullable:
            piece += " NOT NULL"
        session.ddl_statement(f"ALTER TABLE {target} ADD COLUMN {piece}")
        table.columns.append(col)


def _drop(session: DuckDBSession, target: str, table: TableDef, body: str) -> None:
    for name in [n.strip() for n in body.split(",") if n.strip()]:
        parts = split_name(name)
        col = table.column(parts[-1] if parts else name)
        if col is None:
            raise SqlError(
                4924,
                f"ALTER TABLE DROP COLUMN failed because column '{name}' does not exist in "
                f"table '{table.name}'.",
            )
        if any(col.name.lower() == c.lower() for ix in table.indexes for c, _ in ix.columns):
            raise SqlError(5074, f"The object '{table.name}' is dependent on column '{col.name}'.")
        session.ddl_statement(f"ALTER TABLE {target} DROP COLUMN {_q(col.name)}")
        table.columns.remove(col)


def _alter(session: DuckDBSession, target: str, table: TableDef, body: str) -> None:
    spec = parse_column_defs(body)
    new = spec.columns[0]
    col = table.column(new.name)
    if col is None:
        raise errors.invalid_column(new.name)
    session.ddl_statement(
        f"ALTER TABLE {target} ALTER COLUMN {_q(col.name)} TYPE {sqltypes.duckdb_type(new.type)}"
    )
    if new.nullable != col.nullable:
        change = "DROP NOT NULL" if new.nullable else "SET NOT NULL"
        session.ddl_statement(f"ALTER TABLE {target} ALTER COLUMN {_q(col.name)} {change}")
    col.type = new.type
    col.nullable = new.nullable


def _rewrite_rows(
    session: DuckDBSession, db: str, catalog: DatabaseCatalog, table: TableDef
) -> None:
    """Replace the table's column and index rows in ``__sys`` (column ids may shift)."""
    for meta in ("columns", "indexes", "index_columns"):
        session.ddl_statement(
            f'DELETE FROM {_q(db)}."__sys".{meta} WHERE object_id = {table.object_id}'
        )
    rows = system_tables.object_rows(catalog, table)
    keep = {k: v for k, v in rows.items() if k in ("columns", "indexes", "index_columns")}
    for stmt in system_tables.insert_statements(db, keep):
        session.ddl_statement(stmt)
