"""The engine side of a TDS bulk load: one INSERT … SELECT over an Arrow table."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa
from sqlglot import exp

from mssql_emulator.contract import SqlError
from mssql_emulator.engine import change_tracking, conversions, errors
from mssql_emulator.engine.catalog import ColumnDef

if TYPE_CHECKING:
    from mssql_emulator.engine.session import DuckDBSession

# The name run_with_arrow registers its table under.
SOURCE = "__ct_keys"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def bulk_insert(
    session: DuckDBSession,
    table_name: str,
    columns: list[str],
    data: pa.Table,
    source_types: list[str],
    *,
    keep_identity: bool,
) -> int:
    """Insert ``data`` (column i holds ``columns[i]``) into ``table_name``; the row count."""
    node = exp.to_table(table_name, dialect="tsql")
    parts = [p for p in (node.catalog, node.db, node.name) if p]
    database, _, table = session.translator().resolve_table(parts, table_name)
    if session.read_only:
        raise errors.permission_denied("INSERT", database, table.schema, table.name)
    if table.kind != "U":
        raise SqlError(4406, f"Update or insert of view or function '{table_name}' failed.")
    full_name = f"{database}.{table.schema}.{table.name}"
    targets: list[str] = []
    values: list[str] = []
    for index, (name, source) in enumerate(zip(columns, source_types, strict=True)):
        column: ColumnDef | None = table.column(name)
        if column is None:
            raise errors.invalid_column(name)
        if column.identity is not None and not keep_identity:
            continue  # SQL Server numbers the rows itself unless KEEPIDENTITY
        targets.append(_q(column.name))
        values.append(
            conversions.store_expr(
                f"{SOURCE}.c{index}", column.type, source, table=full_name, column=column.name
            )
        )
    if not data.num_rows:
        return 0
    qualified = f"{_q(database)}.{_q(table.schema)}.{_q(table.name)}"
    if not targets:
        raise SqlError(4827, "The bulk load names no column that can take values.")
    sql = f"INSERT INTO {qualified} ({', '.join(targets)}) SELECT {', '.join(values)} FROM {SOURCE}"
    session.error_table = table
    session.error_verb = "INSERT"
    keys = change_tracking.key_columns(table) if table.change_tracking else []
    # One DuckDB statement is atomic by itself; change capture needs a transaction around it.
    with session.write_scope(database, atomic=bool(keys)):
        session.run_with_arrow(sql, data)
        lowered = [c.lower() for c in columns]
        if keys and all(k.lower() in lowered for k in keys):
            picked = [data.column(lowered.index(k.lower())) for k in keys]
            session.record_changes(database, table, "I", pa.table(picked, names=keys), None)
    count: int = data.num_rows
    return count
