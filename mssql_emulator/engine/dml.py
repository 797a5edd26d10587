"""INSERT, UPDATE and DELETE with SQL Server's conversion rules and change capture."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa
from sqlglot import exp

from mssql_emulator.contract import Column, ResultSet, SqlError, StatementResult
from mssql_emulator.engine import (
    change_tracking,
    conversions,
    errors,
    foreign_key_checks,
    temp_tables,
)
from mssql_emulator.engine.catalog import ColumnDef, TableDef
from mssql_emulator.engine.translate import duck_expression

if TYPE_CHECKING:
    from mssql_emulator.engine.session import DuckDBSession


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _target(session: DuckDBSession, node: exp.Expression) -> tuple[str, TableDef, exp.Table]:
    table_node = node if isinstance(node, exp.Table) else node.find(exp.Table)
    if table_node is None:
        raise errors.syntax_error("INSERT")
    translator = session.translator()
    parts = [p for p in (table_node.catalog, table_node.db, table_node.name) if p is not None]
    shown = ".".join(p for p in parts if p)
    if table_node.catalog:
        parts = [table_node.catalog, table_node.db, table_node.name]
    elif table_node.db:
        parts = [table_node.db, table_node.name]
    else:
        parts = [temp_tables.special_name(table_node, session.variables) or table_node.name]
        shown = parts[0]
    database, _, table = translator.resolve_table(parts, shown)
    if session.read_only:
        verb = type(node.parent).__name__.upper() if node.parent else "INSERT"
        raise errors.permission_denied(verb, database, table.schema, table.name)
    if table.kind != "U":
        raise SqlError(
            4405,
            f"View or function '{shown}' is not updatable because the "
            "modification affects multiple base tables.",
        )
    return database, table, table_node


def _qualified(database: str, table: TableDef) -> str:
    return f"{_q(database)}.{_q(table.schema)}.{_q(table.name)}"


@dataclass(frozen=True)
class PreparedInsert:
    """An INSERT translated once; re-run as is while the catalog and parameter types hold."""

    database: str
    table: TableDef
    sql: str
    output: list[ColumnDef] | None
    volatile: bool = False
    foreign_keys: foreign_key_checks.Plan | None = None


def insert(session: DuckDBSession, node: exp.Insert) -> StatementResult:
    return execute_insert(session, prepare_insert(session, node))


def execute_insert(session: DuckDBSession, prepared: PreparedInsert) -> StatementResult:
    database, table, output = prepared.database, prepared.table, prepared.output
    session.error_table = table
    session.error_verb = "INSERT"
    count, data = run_tracked(
        session, database, table, prepared.sql, "I", output, plan=prepared.foreign_keys
    )
    if table.identity_column is not None and count:
        rel = session.relation(
            f"SELECT currval('{temp_tables.sequence_name(database, table.object_id)}')"
        )
        rows = rel.fetchall()
        row = rows[0] if rows else None
        session.set_identity(row[0] if row else None)
    return _result(count, output, data)


def prepare_insert(session: DuckDBSession, node: exp.Insert) -> PreparedInsert:
    target = node.this
    database, table, _ = _target(session, target)
    session.error_table = table
    session.error_verb = "INSERT"
    output = _output_columns(node, table)
    if isinstance(target, exp.Schema):
        names = [i.name for i in target.expressions]
        columns = []
        for n in names:
            col = table.column(n)
            if col is None:
                raise errors.invalid_column(n)
            columns.append(col)
    else:
        columns = [c for c in table.columns if c.identity is None]
    identity = table.identity_column
    if (
        identity is not None
        and identity in columns
        and table.object_id not in session.identity_insert
    ):
        raise SqlError(
            544,
            f"Cannot insert explicit value for identity column in table "
            f"'{table.name}' when IDENTITY_INSERT is set to OFF.",
        )
    full_name = f"{database}.{table.schema}.{table.name}"
    qualified = _qualified(database, table)
    source = node.expression
    volatile = False
    if source is None:
        sql = f"INSERT INTO {qualified} DEFAULT VALUES"
    else:
        translator = session.translator()
        if isinstance(source, exp.Values):
            for row in source.expressions:
                width = len(row.expressions) if isinstance(row, exp.Tuple) else 1
                if width != len(columns):
                    raise SqlError(
                        110 if width < len(columns) else 109,
                        "There are fewer columns in the INSERT statement than values specified "
                        "in the VALUES clause. The number of values in the VALUES clause must "
                        "match the number of columns specified in the INSERT statement."
                        if width > len(columns)
                        else "There are more columns in the INSERT statement than values specified "
                        "in the VALUES clause. The number of values in the VALUES clause must "
                        "match the number of columns specified in the INSERT statement.",
                        severity=15,
                    )
        src_sql = translator.sql(source)
        volatile = translator.scope.volatile
        aliases = [f"__c{i}" for i in range(len(columns))]
        relation = session.relation(f"SELECT * FROM ({src_sql}) AS __src({', '.join(aliases)})")
        src_types = [str(t) for t in relation.types]
        if len(src_types) != len(columns):
            raise SqlError(
                120 if len(src_types) < len(columns) else 121,
                "The select list for the INSERT statement contains "
                f"{'fewer' if len(src_types) < len(columns) else 'more'} items than "
                "the insert list. The number of SELECT values must match the number "
                "of INSERT columns.",
                severity=15,
            )
        values = [
            conversions.store_expr(f"__src.{a}", c.type, src, table=full_name, column=c.name)
            for a, c, src in zip(aliases, columns, src_types, strict=True)
        ]
        new_rows = f"SELECT {', '.join(values)} FROM ({src_sql}) AS __src({', '.join(aliases)})"
        sql = f"INSERT INTO {qualified} ({', '.join(_q(c.name) for c in columns)}) {new_rows}"
        plan = foreign_key_checks.insert_plan(session, database, table, columns, new_rows)
        return PreparedInsert(database, table, sql, output, volatile, plan)
    return PreparedInsert(database, table, sql, output, volatile)


def _output_columns(node: exp.Expression, table: TableDef) -> list[ColumnDef] | None:
    """Columns of an ``OUTPUT inserted.x, deleted.y`` clause, removed from ``node``."""
    returning = node.args.get("returning")
    if returning is None:
        return None
    node.set("returning", None)
    if returning.args.get("into"):
        raise errors.not_supported("OUTPUT INTO")
    columns: list[ColumnDef] = []
    for item in returning.expressions:
        target = item.this if isinstance(item, exp.Alias) else item
        if isinstance(target, exp.Star) or (
            isinstance(target, exp.Column) and isinstance(target.this, exp.Star)
        ):
            columns.extend(table.columns)
        elif isinstance(target, exp.Column):
            col = table.column(target.name)
            if col is None:
                raise errors.invalid_column(target.name)
            columns.append(col)
        else:
            raise errors.not_supported("OUTPUT expressions")
    return columns


def run_tracked(
    session: DuckDBSession,
    database: str,
    table: TableDef,
    sql: str,
    op: str,
    output: list[ColumnDef] | None = None,
    *,
    columns: list[int] | None = None,
    old_keys_sql: str | None = None,
    plan: foreign_key_checks.Plan | None = None,
) -> tuple[int, pa.Table | None]:
    """Run a DML statement; log changed keys of change-tracked tables; return OUTPUT rows.

    ``old_keys_sql`` selects the keys an UPDATE of key columns is about to change: those
    are logged as deleted and the new keys as inserted, as SQL Server records them.
    ``plan`` checks foreign keys and runs their cascades before the statement, in its write.
    """
    keys = change_tracking.key_columns(table) if table.change_tracking else []
    # One DuckDB statement is atomic by itself; change capture and cascades need a
    # transaction around it.
    with session.write_scope(database, atomic=bool(keys) or plan is not None):
        if plan is not None:
            plan.apply(session)
        if not keys and output is None:
            rel = session.run(sql)
            rows = rel.fetchall() if rel is not None else []
            row = rows[0] if rows else None
            return (int(row[0]) if row else 0), None
        old_keys = session.relation(old_keys_sql).to_arrow_table() if old_keys_sql else None
        returned = [f"{_q(c.name)} AS __o{i}" for i, c in enumerate(output or [])]
        returned += [f"{_q(k)} AS __k{i}" for i, k in enumerate(keys)]
        rel = session.run(f"{sql} RETURNING {', '.join(returned)}")
        data = rel.to_arrow_table() if rel is not None else None
        if data is None:
            return 0, None
        width = len(output or [])
        if keys and data.num_rows:
            new_keys = pa.table(data.columns[width:], names=keys)
            if old_keys is not None:
                session.record_changes(database, table, "D", old_keys.rename_columns(keys), None)
                session.record_changes(database, table, "I", new_keys, None)
            else:
                session.record_changes(database, table, op, new_keys, columns)
        if output is None:
            return data.num_rows, None
        names = [c.name for c in output]
        return data.num_rows, pa.table(data.columns[:width], names=names)


def _updated_columns(table: TableDef, targets: list[ColumnDef]) -> list[int] | None:
    """Column ids an UPDATE sets, for SYS_CHANGE_COLUMNS; None when it sets every non-key one."""
    if not table.track_columns:
        return None
    ids = list(dict.fromkeys(change_tracking.column_id(table, c.name) for c in targets))
    keys = {k.lower() for k in change_tracking.key_columns(table)}
    others = {change_tracking.column_id(table, c.name) for c in table.columns} - {
        change_tracking.column_id(table, k) for k in keys
    }
    return None if others <= set(ids) else ids


def _old_keys_sql(table: TableDef, update: exp.Update) -> str:
    """The keys an UPDATE's FROM and WHERE select, before it runs."""
    target = update.this
    alias = exp.to_identifier(target.alias_or_name, quoted=True).sql("duckdb")
    keys = ", ".join(f"{alias}.{_q(k)}" for k in change_tracking.key_columns(table))
    sources = target.sql("duckdb")
    from_ = update.args.get("from_")
    if from_ is not None:
        sources += ", " + from_.sql("duckdb")[len("FROM ") :]
    where = update.args.get("where")
    return f"SELECT {keys} FROM {sources} {where.sql('duckdb') if where else ''}"


def _result(count: int, output: list[ColumnDef] | None, data: pa.Table | None) -> StatementResult:
    if output is None or data is None:
        return StatementResult(rowcount=count)
    columns = [Column(c.name, c.type, c.nullable, c.identity is not None) for c in output]
    return StatementResult(result_set=ResultSet(columns, iter(data.to_batches())), rowcount=count)


def update(session: DuckDBSession, node: exp.Update) -> StatementResult:
    database, table, _ = _target(session, node.this)
    session.error_table = table
    session.error_verb = "UPDATE"
    output = _output_columns(node, table)
    full_name = f"{database}.{table.schema}.{table.name}"
    translator = session.translator()
    targets = []
    for eq in node.expressions:
        col = table.column(eq.this.name)
        if col is None:
            raise errors.invalid_column(eq.this.name)
        if col.identity is not None:
            raise SqlError(8102, f"Cannot update identity column '{col.name}'.")
        targets.append(col)
    rewritten = translator.rewrite(node)
    for eq, col in zip(rewritten.expressions, targets, strict=True):
        src = translator.guess_src(eq.expression)
        wrapped = duck_expression(
            conversions.store_expr("__setarg__", col.type, src, table=full_name, column=col.name)
        )
        if isinstance(wrapped, exp.Column):
            wrapped = eq.expression.copy()  # already of the column's storage
        for c in list(wrapped.find_all(exp.Column)):
            if c.name == "__setarg__":
                c.replace(eq.expression.copy())
        eq.set("expression", wrapped)
        eq.set("this", exp.column(col.name, quoted=True))
    sql = rewritten.sql(dialect="duckdb")
    assert isinstance(rewritten, exp.Update)
    keys = {k.lower() for k in change_tracking.key_columns(table)}
    old_keys_sql = None
    if table.change_tracking and any(c.name.lower() in keys for c in targets):
        old_keys_sql = _old_keys_sql(table, rewritten)
    count, data = run_tracked(
        session,
        database,
        table,
        sql,
        "U",
        output,
        columns=_updated_columns(table, targets),
        old_keys_sql=old_keys_sql,
        plan=foreign_key_checks.update_plan(session, database, table, rewritten),
    )
    return _result(count, output, data)


def delete(session: DuckDBSession, node: exp.Delete) -> StatementResult:
    tables = node.args.get("tables") or []
    if not isinstance(node.this, exp.Expression) and len(tables) == 1:
        # ``DELETE t …`` (no FROM) arrives as a one-table multi-table delete.
        node.set("this", tables[0])
        node.set("tables", None)
    database, table, _ = _target(session, node.this)
    session.error_table = table
    session.error_verb = "DELETE"
    output = _output_columns(node, table)
    rewritten = session.translator().rewrite(node)
    assert isinstance(rewritten, exp.Delete)
    plan = foreign_key_checks.delete_plan(session, database, table, rewritten)
    count, data = run_tracked(
        session, database, table, rewritten.sql(dialect="duckdb"), "D", output, plan=plan
    )
    return _result(count, output, data)
