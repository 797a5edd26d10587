"""The DuckDB-backed engine: one attached DuckDB catalog per SQL database."""

from __future__ import annotations

import itertools
import os
import threading
from typing import Any

import duckdb
import pyarrow as pa

from mssql_emulator import code_page
from mssql_emulator.contract import SqlError, SqlType
from mssql_emulator.engine import (
    change_tracking,
    changetable,
    conversions,
    databases,
    dml,
    server_views,
    system_tables,
)
from mssql_emulator.engine.applocks import AppLocks
from mssql_emulator.engine.catalog import (
    SCHEMA_IDS,
    ColumnDef,
    DatabaseCatalog,
    IndexDef,
    TableDef,
)
from mssql_emulator.engine.session import DuckDBSession
from mssql_emulator.engine.splitter import split_go
from mssql_emulator.engine.tsql_text import split_name


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


class DuckDBEngine:
    """Implements ``mssql_emulator.contract.Engine``; databases live in memory or in ``path``."""

    def __init__(
        self,
        databases: list[str],
        path: str | None = None,
        *,
        read_only_users: tuple[str, ...] = (),
    ) -> None:
        self._path = path
        # Logins that may read but not write: their writes fail with 229/262 like a
        # SQL Server login holding only db_datareader.
        self.read_only_users = frozenset(u.lower() for u in read_only_users)
        self._lock = threading.RLock()
        self._con = duckdb.connect(":memory:")
        self._con.execute("SET TimeZone = 'UTC'")
        # Sessions' connections (cursors of this one) share its functions.
        for name, convert, source, result in (
            ("mssql_cp1252_text", code_page.decode, "BLOB", "VARCHAR"),
            ("mssql_utf16_text", code_page.decode_utf16, "BLOB", "VARCHAR"),
            ("mssql_cp1252_bytes", code_page.encode, "VARCHAR", "BLOB"),
            ("mssql_utf16_bytes", code_page.encode_utf16, "VARCHAR", "BLOB"),
        ):
            self._con.create_function(name, convert, [source], result, side_effects=False)
        self._catalogs: dict[str, DatabaseCatalog] = {}
        self._sessions: dict[int, DuckDBSession] = {}
        self._spids = itertools.count(51)
        self.applocks = AppLocks()
        self._pending: dict[str, dict[str, list[tuple[Any, ...]]]] = {}
        self._pending_lock = threading.Lock()
        # Bumped by every DDL; prepared INSERTs from an older generation are stale.
        self.ddl_generation = 0
        if path is not None:
            os.makedirs(path, exist_ok=True)
        for name in databases:
            self.create_database(name)

    # -- contract ---------------------------------------------------------------------------

    def has_database(self, name: str) -> bool:
        return self.resolve_database(name) is not None

    def open_session(self, database: str, user: str) -> DuckDBSession:
        resolved = self.resolve_database(database)
        if resolved is None:
            raise SqlError(
                4060,
                f'Cannot open database "{database}" requested by the login. The login failed.',
                severity=11,
            )
        with self._lock:
            spid = next(self._spids)
            session = DuckDBSession(self, resolved, user, spid)
            self._sessions[spid] = session
        return session

    def close(self) -> None:
        self.flush_catalog_rows()
        for session in list(self._sessions.values()):
            session.close()
        self._con.close()

    # -- public extras -----------------------------------------------------------------------

    def run_script(self, database: str, sql_text: str) -> None:
        """Run a sqlcmd-style script (batches split on ``GO`` lines), reading every result."""
        session = self.open_session(database, "sa")
        try:
            for batch in split_go(sql_text):
                for result in session.execute(batch):
                    if result.result_set is not None:
                        for _ in result.result_set.batches:
                            pass
        finally:
            session.close()

    def load_arrow(self, database: str, table: str, data: pa.Table) -> int:
        """Append an Arrow table to an existing table, matching columns by name (benchmarks)."""
        session = self.open_session(database, "sa")
        try:
            translator = session.translator()
            db, _, target = translator.resolve_table(split_name(table), table)
            full = f"{db}.{target.schema}.{target.name}"
            cols: list[ColumnDef] = []
            exprs = []
            for field in data.schema:
                col = target.column(field.name)
                if col is None:
                    raise SqlError(207, f"Invalid column name '{field.name}'.")
                cols.append(col)
            session._con.register("__load", data)
            try:
                src = session._con.sql("SELECT * FROM __load")
                assert src is not None
                types = [str(t) for t in src.types]
                for col, field, src_type in zip(cols, data.schema, types, strict=True):
                    exprs.append(
                        conversions.store_expr(
                            f"__load.{_q(field.name)}",
                            col.type,
                            src_type,
                            table=full,
                            column=col.name,
                        )
                    )
                # Through the DML path, so a change-tracked table logs the new keys.
                dml.run_tracked(
                    session,
                    db,
                    target,
                    f"INSERT INTO {_q(db)}.{_q(target.schema)}.{_q(target.name)} "
                    f"({', '.join(_q(c.name) for c in cols)}) "
                    f"SELECT {', '.join(exprs)} FROM __load",
                    "I",
                )
            finally:
                session._con.unregister("__load")
            return int(data.num_rows)
        finally:
            session.close()

    def create_database(self, name: str) -> None:
        with self._lock:
            if name.lower() in self._catalogs:
                return
            target = (
                ":memory:" if self._path is None else os.path.join(self._path, f"{name}.duckdb")
            )
            self._con.execute(f"ATTACH {_literal(target)} AS {_q(name)}")
            fresh = not self._con.execute(
                "SELECT count(*) FROM duckdb_schemas() WHERE database_name = ? "
                "AND schema_name = '__sys'",
                [name],
            ).fetchone()[0]  # type: ignore[index]
            for stmt in system_tables.create_statements(name):
                self._con.execute(stmt)
            catalog = DatabaseCatalog(name, self._new_database_id(name))
            if fresh:
                self._con.execute(f"CREATE SCHEMA IF NOT EXISTS {_q(name)}.dbo")
                self._con.execute(f"CREATE SCHEMA IF NOT EXISTS {_q(name)}.guest")
                rows = ", ".join(f"({sid}, {_literal(n)}, 1)" for n, sid in SCHEMA_IDS.items())
                self._con.execute(f'INSERT INTO {_q(name)}."__sys".schemas VALUES {rows}')
            self._catalogs[name.lower()] = catalog
            self._load_catalog(self._con, catalog)

    def _new_database_id(self, name: str) -> int:
        system_id = databases.system_database_id(name)
        if system_id is not None:
            return system_id
        taken = [c.database_id for c in self._catalogs.values()]
        return max([databases.FIRST_USER_DATABASE_ID - 1, *taken]) + 1

    def drop_database(self, name: str) -> None:
        """Detach a database (and delete its file); the caller checked it is unused."""
        with self._lock:
            catalog = self._catalogs.pop(name.lower(), None)
            if catalog is None:
                return
            self._pending.pop(catalog.name, None)
            self._con.execute(f"DETACH {_q(catalog.name)}")
            self.ddl_generation += 1
            if self._path is not None:
                for suffix in ("", ".wal"):
                    target = os.path.join(self._path, f"{catalog.name}.duckdb{suffix}")
                    if os.path.exists(target):
                        os.remove(target)

    def database_in_use(self, name: str, *, besides: int) -> bool:
        with self._lock:
            return any(
                s.database.lower() == name.lower()
                for spid, s in self._sessions.items()
                if spid != besides
            )

    def connect(self, database: str) -> duckdb.DuckDBPyConnection:
        """A new DuckDB connection set up for a session (own transactions, T-SQL macros)."""
        with self._lock:
            con = self._con.cursor()
        con.execute(f"USE {_q(database)}.dbo")
        con.execute("SET integer_division = true")
        # SQL_Latin1_General_CP1_CI_AS compares strings case-insensitively.
        con.execute("SET default_collation = 'nocase'")
        con.execute("SET TimeZone = 'UTC'")
        for macro in conversions.MACROS + changetable.MACROS:
            con.execute(macro)
        return con

    def queue_catalog_rows(self, database: str, rows: dict[str, list[tuple[Any, ...]]]) -> None:
        """Remember ``__sys`` rows of autocommitted DDL; written by ``flush_catalog_rows``."""
        with self._pending_lock:
            pending = self._pending.setdefault(database, {})
            for table, values in rows.items():
                pending.setdefault(table, []).extend(values)

    def flush_catalog_rows(self) -> None:
        """Write queued ``__sys`` rows in bulk, on the engine's own autocommit connection."""
        if not self._pending:
            return
        with self._pending_lock:
            pending, self._pending = self._pending, {}
            with self._lock:
                writer = self._con.cursor()
            try:
                for database, rows in pending.items():
                    writer.execute("BEGIN TRANSACTION")
                    for name, values in rows.items():
                        if not values:
                            continue
                        writer.register("__rows", system_tables.arrow_rows(name, values))
                        writer.execute(
                            f'INSERT INTO {_q(database)}."__sys".{name} SELECT * FROM __rows'
                        )
                        writer.unregister("__rows")
                    writer.execute("COMMIT")
            finally:
                writer.close()

    def catalog(self, name: str) -> DatabaseCatalog | None:
        return self._catalogs.get(name.lower())

    def resolve_database(self, name: str) -> str | None:
        catalog = self._catalogs.get(name.lower())
        if catalog is None and databases.system_database_id(name) is not None:
            # System databases always exist; each is attached when first used.
            self.create_database(name.lower())
            catalog = self._catalogs.get(name.lower())
        return catalog.name if catalog else None

    def database_names(self) -> list[str]:
        return [c.name for c in self._catalogs.values()]

    def sessions(self) -> list[DuckDBSession]:
        with self._lock:
            return list(self._sessions.values())

    def session_closed(self, session: DuckDBSession) -> None:
        with self._lock:
            self._sessions.pop(session.spid, None)
        self.applocks.release_all(session.spid)

    def server_view(self, name: str) -> str | None:
        """DuckDB SQL for a server-wide ``sys`` view (sessions, databases), else None."""
        if name.lower() == "databases":
            for system_name in databases.SYSTEM_DATABASES:
                self.resolve_database(system_name)
        return server_views.server_view(name, self._catalogs, list(self._sessions.values()))

    def reload_catalogs(self, con: duckdb.DuckDBPyConnection) -> None:
        """Rebuild every catalog from its committed ``__sys`` rows (after a DDL rollback)."""
        self.flush_catalog_rows()
        self.ddl_generation += 1
        with self._lock:
            reader = self._con.cursor()
            try:
                for catalog in self._catalogs.values():
                    with catalog.lock:
                        catalog.objects.clear()
                        catalog.by_id.clear()
                        self._load_catalog(reader, catalog)
            finally:
                reader.close()

    # -- loading ---------------------------------------------------------------------------

    def _load_catalog(self, con: duckdb.DuckDBPyConnection, catalog: DatabaseCatalog) -> None:
        s = f'{_q(catalog.name)}."__sys"'
        for sid, name in con.execute(f"SELECT schema_id, name FROM {s}.schemas").fetchall():
            catalog.schemas[name.lower()] = (sid, name)
        tables: dict[int, TableDef] = {}
        for oid, name, sid, kind in con.execute(
            f"SELECT object_id, name, schema_id, type FROM {s}.objects "
            "WHERE type IN ('U', 'V', 'P')"
        ).fetchall():
            schema = next(n for i, n in catalog.schemas.values() if i == sid)
            tables[oid] = TableDef(oid, schema, name, kind)
        for row in con.execute(
            f"SELECT object_id, name, type_name, char_max_length, numeric_precision, "
            f"numeric_scale, datetime_precision, is_nullable, seed_value, increment_value, "
            f"default_definition FROM {s}.columns ORDER BY object_id, column_id"
        ).fetchall():
            oid, name, type_name, length, precision, scale, dt_precision = row[:7]
            nullable, seed, inc, default = row[7:]
            if type_name in ("decimal", "numeric"):
                t = SqlType(type_name, precision=precision, scale=scale)
            elif type_name in ("time", "datetime2", "datetimeoffset"):
                t = SqlType(type_name, scale=dt_precision)
            elif length is not None:
                t = SqlType(type_name, length=length)
            else:
                t = SqlType(type_name)
            tables[oid].columns.append(
                ColumnDef(
                    name,
                    t,
                    nullable,
                    (seed, inc) if seed is not None else None,
                    default[1:-1] if default else None,
                )
            )
        constraint_ids = {
            (parent, name): oid
            for oid, name, parent in con.execute(
                f"SELECT object_id, name, parent_object_id FROM {s}.objects "
                "WHERE type IN ('PK', 'UQ')"
            ).fetchall()
        }
        index_cols: dict[tuple[int, int], list[tuple[str, bool]]] = {}
        for oid, iid, cid, desc in con.execute(
            f"SELECT object_id, index_id, column_id, is_descending_key FROM "
            f"{s}.index_columns ORDER BY object_id, index_id, key_ordinal"
        ).fetchall():
            col = tables[oid].columns[cid - 1]
            index_cols.setdefault((oid, iid), []).append((col.name, desc))
        for oid, name, iid, itype, unique, pk, uq in con.execute(
            f"SELECT object_id, name, index_id, type, is_unique, is_primary_key, "
            f"is_unique_constraint FROM {s}.indexes WHERE index_id > 0 "
            "ORDER BY object_id, index_id"
        ).fetchall():
            tables[oid].indexes.append(
                IndexDef(
                    name,
                    iid,
                    index_cols.get((oid, iid), []),
                    unique,
                    pk,
                    uq,
                    itype == 1,
                    constraint_ids.get((oid, name)),
                )
            )
        for oid, definition in con.execute(
            f"SELECT object_id, definition FROM {s}.views UNION ALL "
            f"SELECT object_id, definition FROM {s}.modules"  # procedures' text
        ).fetchall():
            tables[oid].definition = definition
        for table in tables.values():
            catalog.add(table)
        change_tracking.load_state(con, catalog)
        for oid in constraint_ids.values():
            catalog.next_object_id = max(catalog.next_object_id, oid + 2)
