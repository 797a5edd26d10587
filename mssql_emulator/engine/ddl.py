"""CREATE/DROP/ALTER statements: DuckDB objects plus the engine's catalog and ``__sys`` rows."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlglot import exp

from mssql_emulator.contract import SqlError, StatementResult
from mssql_emulator.engine import (
    alter_table,
    change_tracking,
    change_tracking_admin,
    column_defaults,
    databases,
    errors,
    foreign_keys,
    procedure_ddl,
    results,
    sqltypes,
    system_tables,
    temp_tables,
)
from mssql_emulator.engine.catalog import ColumnDef, DatabaseCatalog, IndexDef, TableDef
from mssql_emulator.engine.table_parser import index_columns, parse_create_table, tokenize
from mssql_emulator.engine.tsql_text import parse_tsql, split_name

if TYPE_CHECKING:
    from mssql_emulator.engine.session import DuckDBSession

_NAME = r"((?:\[[^\]]+\]|\"[^\"]+\"|[\w#@$]+)(?:\s*\.\s*(?:\[[^\]]+\]|\"[^\"]+\"|[\w#@$]*))*)"
_CREATE_TABLE = re.compile(r"^CREATE\s+TABLE\b", re.I)
_CREATE_SCHEMA = re.compile(rf"^CREATE\s+SCHEMA\s+{_NAME}", re.I)
_CREATE_VIEW = re.compile(
    rf"^CREATE\s+(?:OR\s+ALTER\s+)?VIEW\s+{_NAME}\s*(?:\(([^)]*)\))?\s+AS\s+"
    r"(.+)$",
    re.I | re.S,
)
_CREATE_INDEX = re.compile(
    rf"^CREATE\s+(UNIQUE\s+)?(CLUSTERED\s+|NONCLUSTERED\s+)?INDEX\s+{_NAME}\s+ON\s+{_NAME}\s*"
    r"\((.+?)\)(?:\s+INCLUDE\s*\(.*?\))?(?:\s+WHERE\s+.*?)?(?:\s+WITH\s*\(.*\))?"
    r"(?:\s+ON\s+.*)?$",
    re.I | re.S,
)
_DROP = re.compile(r"^DROP\s+(TABLE|VIEW|SCHEMA|INDEX)\s+(IF\s+EXISTS\s+)?(.+)$", re.I | re.S)
_TRUNCATE = re.compile(rf"^TRUNCATE\s+TABLE\s+{_NAME}\s*$", re.I | re.S)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def run(session: DuckDBSession, text: str) -> StatementResult:
    if session.read_only:
        words = text.split()
        what = " ".join(words[:2]).upper() if len(words) > 1 else text.upper()
        raise SqlError(
            262, f"{what} permission denied in database '{session.database}'.", severity=14
        )
    if procedure_ddl.handles(text):
        return procedure_ddl.run(session, text)
    if _CREATE_TABLE.match(text):
        return create_table(session, text)
    match = databases.CREATE_DATABASE.match(text)
    if match:
        return databases.create(session, session.database_host, match)
    match = databases.DROP_DATABASE.match(text)
    if match:
        return databases.drop(session, session.database_host, match)
    match = _CREATE_SCHEMA.match(text)
    if match:
        return create_schema(session, split_name(match.group(1))[-1])
    match = _CREATE_VIEW.match(text)
    if match:
        return create_view(session, match.group(1), match.group(3), text)
    match = _CREATE_INDEX.match(text)
    if match:
        return create_index(
            session,
            bool(match.group(1)),
            (match.group(2) or "").strip().upper() == "CLUSTERED",
            split_name(match.group(3))[-1],
            match.group(4),
            match.group(5),
        )
    match = _DROP.match(text)
    if match:
        return drop(session, match.group(1).upper(), bool(match.group(2)), match.group(3))
    match = change_tracking_admin.ALTER_DATABASE.match(text)
    if match:
        return change_tracking_admin.alter_database(session, match)
    match = change_tracking_admin.ALTER_TABLE.match(text)
    if match:
        return change_tracking_admin.alter_table(session, match)
    match = alter_table.ALTER_TABLE.match(text)
    if match:
        return alter_table.run(session, match)
    match = _TRUNCATE.match(text)
    if match:
        _, catalog, table = _resolve(session, match.group(1))
        with session.write_scope(catalog.name):
            session.ddl_statement(f"DELETE FROM {_qualified(catalog.name, table)}")
            if table.change_tracking:
                for stmt in change_tracking.truncate_statements(catalog.name, table):
                    session.ddl_statement(stmt)
        return StatementResult()
    raise errors.not_supported(" ".join(text.split()[:2]).upper())


def _resolve(session: DuckDBSession, name: str) -> tuple[str, DatabaseCatalog, TableDef]:
    return session.translator().resolve_table(split_name(name), name)


def _qualified(database: str, table: TableDef) -> str:
    return f"{_q(database)}.{_q(table.schema)}.{_q(table.name)}"


def _target(session: DuckDBSession, parts: list[str]) -> tuple[DatabaseCatalog, str, str]:
    """Catalog, schema and name for a new object named by ``parts``."""
    name = parts[-1]
    if temp_tables.is_temp_name(name):
        if session.temp_catalog.get(temp_tables.TEMP_SCHEMA, name) is not None:
            raise errors.object_exists(name)
        return session.temp_catalog, temp_tables.TEMP_SCHEMA, name
    schema = parts[-2] if len(parts) >= 2 and parts[-2] else "dbo"
    db = parts[-3] if len(parts) >= 3 and parts[-3] else session.database
    database = session.resolve_database(db)
    catalog = session.catalog(database) if database else None
    if catalog is None:
        raise SqlError(
            911, f"Database '{db}' does not exist. Make sure that the name is entered correctly."
        )
    schema_name = catalog.schema_name(schema)
    if schema_name is None or schema.lower() in ("sys", "information_schema"):
        raise SqlError(
            2760,
            f'The specified schema name "{schema}" either does not exist '
            "or you do not have permission to use it.",
        )
    if catalog.get(schema_name, name) is not None:
        raise errors.object_exists(name)
    return catalog, schema_name, name


def create_table(session: DuckDBSession, text: str) -> StatementResult:
    spec = parse_create_table(text)
    catalog, schema, name = _target(session, spec.parts)
    temporary = catalog.name == temp_tables.TEMP_DATABASE
    db = catalog.name
    oid = catalog.new_object_id()
    table = TableDef(oid, schema, name, "U", spec.columns)
    seen: set[str] = set()
    for col in spec.columns:
        if col.name.lower() in seen:
            raise SqlError(
                2705,
                f"Column names in each table must be unique. Column name "
                f"'{col.name}' in table '{name}' is specified more than once.",
            )
        seen.add(col.name.lower())
    clustered_taken = any(k.clustered for k in spec.keys)
    next_index = 2
    for key in spec.keys:
        for col_name, _ in key.columns:
            if table.column(col_name) is None:
                raise SqlError(
                    1911, f"Column name '{col_name}' does not exist in the target table or view."
                )
        clustered = (
            key.clustered if key.clustered is not None else (key.primary and not clustered_taken)
        )
        if clustered:
            clustered_taken = True
        prefix = "PK" if key.primary else ("UQ" if not key.index else "IX")
        ix_name = key.name or f"{prefix}__{name[:8]}__{catalog.new_object_id():016X}"
        index_id = 1 if clustered else next_index
        if not clustered:
            next_index += 1
        table.indexes.append(
            IndexDef(
                ix_name,
                index_id,
                key.columns,
                unique=not key.index,
                primary_key=key.primary,
                unique_constraint=not key.primary and not key.index,
                clustered=clustered,
                constraint_id=None if key.index else catalog.new_object_id(),
            )
        )
        if key.primary:
            for col_name, _ in key.columns:
                key_col = table.column(col_name)
                assert key_col is not None
                key_col.nullable = False
    table.indexes.sort(key=lambda ix: ix.index_id)
    col_sql = []
    for col in table.columns:
        piece = f"{_q(col.name)} {sqltypes.duckdb_type(col.type)}"
        if col.identity is not None:
            piece += f" DEFAULT nextval('{temp_tables.sequence_name(db, oid)}')"
        elif col.default is not None:
            piece += f" DEFAULT ({column_defaults.default_sql(session, col.default, col.type)})"
        if not col.nullable:
            piece += " NOT NULL"
        col_sql.append(piece)
    for ix in table.indexes:
        if ix.primary_key:
            col_sql.append("PRIMARY KEY (" + ", ".join(_q(c) for c, _ in ix.columns) + ")")
        elif ix.unique:
            col_sql.append("UNIQUE (" + ", ".join(_q(c) for c, _ in ix.columns) + ")")
    identity = table.identity_column
    rows = system_tables.object_rows(catalog, table)
    if spec.foreign_keys and not temporary:
        resolve = foreign_keys.resolver(session.translator(), table)
        for meta, values in foreign_keys.rows(catalog, table, spec.foreign_keys, resolve).items():
            rows.setdefault(meta, []).extend(values)
    # Outside a user transaction the catalog rows are queued and written in bulk later:
    # one DuckDB statement per CREATE TABLE keeps creating 10,000 tables fast.
    with (
        session.write_scope(db, atomic=identity is not None or session.in_transaction),
        catalog.lock,
    ):
        if identity is not None and identity.identity is not None:
            seed, inc = identity.identity
            session.ddl_statement(
                f"CREATE {'TEMP ' if temporary else ''}SEQUENCE "
                f"{temp_tables.sequence_name(db, oid)} START {seed} INCREMENT {inc}"
            )
        session.ddl_statement(
            f"CREATE {'TEMP ' if temporary else ''}TABLE {_q(db)}.{_q(schema)}.{_q(name)} "
            f"({', '.join(col_sql)})"
        )
        if temporary:
            pass  # temporary tables are not listed in the database's catalog views
        elif session.in_transaction:
            for stmt in system_tables.insert_statements(db, rows):
                session.ddl_statement(stmt)
        else:
            session.queue_catalog_rows(db, rows)
        catalog.add(table)
        session.mark_ddl()
    return StatementResult()


def create_schema(session: DuckDBSession, name: str) -> StatementResult:
    catalog = session.catalog(session.database)
    assert catalog is not None
    if catalog.schema_id(name) is not None:
        raise errors.object_exists(name)
    with session.write_scope(catalog.name), catalog.lock:
        sid = catalog.add_schema(name)
        session.ddl_statement(f"CREATE SCHEMA {_q(catalog.name)}.{_q(name)}")
        session.ddl_statement(system_tables.insert_schema_statement(catalog.name, sid, name))
        session.mark_ddl()
    return StatementResult()


def create_view(session: DuckDBSession, name_text: str, body: str, text: str) -> StatementResult:
    catalog, schema, name = _target(session, split_name(name_text))
    db = catalog.name
    node = parse_tsql(body)
    from mssql_emulator.engine.statements import _lookup

    hints = results.projection_hints(node, _lookup(session))
    sql = session.translator().sql(node)
    rel = session.relation(sql)
    columns = results.result_columns(list(rel.columns), [str(t) for t in rel.types], hints)
    table = TableDef(
        catalog.new_object_id(),
        schema,
        name,
        "V",
        [ColumnDef(c.name, c.type, c.nullable) for c in columns],
        definition=text,
    )
    with session.write_scope(db), catalog.lock:
        session.ddl_statement(f"CREATE VIEW {_q(db)}.{_q(schema)}.{_q(name)} AS {sql}")
        for stmt in system_tables.insert_statements(db, system_tables.object_rows(catalog, table)):
            session.ddl_statement(stmt)
        catalog.add(table)
        session.mark_ddl()
    return StatementResult()


def create_index(
    session: DuckDBSession,
    unique: bool,
    clustered: bool,
    name: str,
    table_name: str,
    columns_text: str,
) -> StatementResult:
    _, catalog, table = _resolve(session, table_name)
    if any(ix.name.lower() == name.lower() for ix in table.indexes if ix.name):
        raise SqlError(
            1913,
            f"The operation failed because an index or statistics with name "
            f"'{name}' already exists on table '{table.schema}.{table.name}'.",
        )
    cols = index_columns(tokenize(columns_text))
    for col_name, _ in cols:
        if table.column(col_name) is None:
            raise SqlError(
                1911, f"Column name '{col_name}' does not exist in the target table or view."
            )
    if clustered and any(ix.clustered for ix in table.indexes):
        raise SqlError(
            1902,
            f"Cannot create more than one clustered index on table "
            f"'{table.schema}.{table.name}'. Drop the existing clustered index "
            "before creating another.",
        )
    index_id = 1 if clustered else max([ix.index_id for ix in table.indexes] + [1]) + 1
    ix = IndexDef(name, index_id, cols, unique=unique, clustered=clustered)
    db = catalog.name
    with session.write_scope(db), catalog.lock:
        if unique:
            session.ddl_statement(
                f"CREATE UNIQUE INDEX {_q(f'{table.name}__{name}')} ON "
                f"{_qualified(db, table)} ({', '.join(_q(c) for c, _ in cols)})"
            )
        if clustered:
            session.ddl_statement(
                f'DELETE FROM {_q(db)}."__sys".indexes WHERE object_id = '
                f"{table.object_id} AND index_id = 0"
            )
        for stmt in system_tables.insert_index_statements(db, table, ix):
            session.ddl_statement(stmt)
        table.indexes.append(ix)
        session.mark_ddl()
    return StatementResult()


def drop(session: DuckDBSession, kind: str, if_exists: bool, names: str) -> StatementResult:
    for name_text in _split_names(names):
        if kind == "SCHEMA":
            _drop_schema(session, split_name(name_text)[-1], if_exists)
            continue
        if kind == "INDEX":
            _drop_index(session, name_text, if_exists)
            continue
        try:
            _, catalog, table = _resolve(session, name_text)
        except SqlError:
            if if_exists:
                continue
            verb = "table" if kind == "TABLE" else "view"
            raise SqlError(
                3701,
                f"Cannot drop the {verb} '{name_text}', because it does not "
                "exist or you do not have permission.",
                severity=11,
            ) from None
        if (table.kind == "U") != (kind == "TABLE"):
            raise SqlError(
                3705,
                f"Cannot use DROP {kind} with '{name_text}' because "
                f"'{name_text}' is a {'table' if table.kind == 'U' else 'view'}. "
                f"Use DROP {'TABLE' if table.kind == 'U' else 'VIEW'}.",
            )
        db = catalog.name
        with session.write_scope(db), catalog.lock:
            session.ddl_statement(f"DROP {kind} {_qualified(db, table)}")
            if table.identity_column is not None:
                session.ddl_statement(
                    f"DROP SEQUENCE IF EXISTS {temp_tables.sequence_name(db, table.object_id)}"
                )
            if table.change_tracking:
                for stmt in change_tracking.disable_statements(db, table):
                    session.ddl_statement(stmt)
            if db != temp_tables.TEMP_DATABASE:
                for stmt in system_tables.delete_object_statements(db, table.object_id):
                    session.ddl_statement(stmt)
            catalog.remove(table)
            session.mark_ddl()
    return StatementResult()


def _split_names(text: str) -> list[str]:
    return [n.strip() for n in re.split(r",(?![^\[]*\])", text) if n.strip()]


def _drop_schema(session: DuckDBSession, name: str, if_exists: bool) -> None:
    catalog = session.catalog(session.database)
    assert catalog is not None
    if catalog.schema_id(name) is None:
        if if_exists:
            return
        raise SqlError(
            15151,
            f"Cannot drop the schema '{name}', because it does not exist or "
            "you do not have permission.",
        )
    with session.write_scope(catalog.name), catalog.lock:
        session.ddl_statement(f"DROP SCHEMA {_q(catalog.name)}.{_q(name)}")
        session.ddl_statement(
            f"DELETE FROM {_q(catalog.name)}.\"__sys\".schemas WHERE lower(name) = lower('{name}')"
        )
        catalog.schemas.pop(name.lower(), None)
        session.mark_ddl()


def _drop_index(session: DuckDBSession, text: str, if_exists: bool) -> None:
    match = re.match(rf"^{_NAME}\s+ON\s+{_NAME}$", text.strip(), re.I | re.S)
    if match:
        index_name, table_name = split_name(match.group(1))[-1], match.group(2)
    else:
        parts = split_name(text)
        index_name, table_name = parts[-1], ".".join(parts[:-1])
    _, catalog, table = _resolve(session, table_name)
    ix = next((i for i in table.indexes if i.name and i.name.lower() == index_name.lower()), None)
    if ix is None:
        if if_exists:
            return
        raise SqlError(
            3701,
            f"Cannot drop the index '{table.name}.{index_name}', because it "
            "does not exist or you do not have permission.",
            severity=11,
        )
    db = catalog.name
    with session.write_scope(db), catalog.lock:
        if ix.unique and not ix.primary_key and not ix.unique_constraint:
            session.ddl_statement(
                f"DROP INDEX IF EXISTS {_q(db)}.{_q(table.schema)}.{_q(f'{table.name}__{ix.name}')}"
            )
        session.ddl_statement(
            f'DELETE FROM {_q(db)}."__sys".indexes WHERE object_id = '
            f"{table.object_id} AND index_id = {ix.index_id}"
        )
        session.ddl_statement(
            f'DELETE FROM {_q(db)}."__sys".index_columns WHERE object_id = '
            f"{table.object_id} AND index_id = {ix.index_id}"
        )
        table.indexes.remove(ix)
        session.mark_ddl()


def select_into(session: DuckDBSession, node: exp.Select) -> StatementResult:
    """``SELECT … INTO new_table FROM …``: a table typed like the query's result columns."""
    into = node.args["into"]
    node.set("into", None)
    target = into.this
    parts = [p for p in (target.catalog, target.db, target.name) if p is not None]
    if target.catalog:
        parts = [target.catalog, target.db, target.name]
    elif target.db:
        parts = [target.db, target.name]
    else:
        parts = [temp_tables.special_name(target) or target.name]
    catalog, schema, name = _target(session, parts)
    from mssql_emulator.engine.statements import _lookup

    hints = results.projection_hints(node, _lookup(session))
    shown = results.projection_names(node)
    sql = session.translator().sql(node)
    rel = session.relation(sql)
    columns = results.result_columns(list(rel.columns), [str(t) for t in rel.types], hints, shown)
    for col in columns:
        if not col.name:
            raise SqlError(
                1038,
                "An object or column name is missing or empty. For SELECT INTO statements, "
                "verify each column has a name.",
                severity=15,
            )
    db = catalog.name
    table = TableDef(
        catalog.new_object_id(),
        schema,
        name,
        "U",
        [ColumnDef(c.name, c.type, nullable=True) for c in columns],
    )
    col_sql = ", ".join(f"{_q(c.name)} {sqltypes.duckdb_type(c.type)}" for c in table.columns)
    target_sql = f"{_q(db)}.{_q(schema)}.{_q(name)}"
    with session.write_scope(db), catalog.lock:
        temporary = "TEMP " if db == temp_tables.TEMP_DATABASE else ""
        session.ddl_statement(f"CREATE {temporary}TABLE {target_sql} ({col_sql})")
        inserted = session.run(f"INSERT INTO {target_sql} SELECT * FROM ({sql})")
        rows = inserted.fetchall() if inserted is not None else []
        catalog_rows = system_tables.object_rows(catalog, table)
        if db == temp_tables.TEMP_DATABASE:
            catalog_rows = {}  # temporary tables are not listed in the database's catalog views
        for stmt in system_tables.insert_statements(db, catalog_rows):
            session.ddl_statement(stmt)
        catalog.add(table)
        session.mark_ddl()
    return StatementResult(rowcount=int(rows[0][0]) if rows else 0)
