"""One client connection: its DuckDB connection, current database, variables, transaction."""

from __future__ import annotations

import datetime as dt
import decimal
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa
from sqlglot import exp

from mssql_emulator.contract import (
    Column,
    Message,
    Param,
    ResultSet,
    SqlError,
    SqlType,
    StatementResult,
)
from mssql_emulator.engine import (
    change_tracking,
    dirty_reads,
    errors,
    isolation,
    procedure_calls,
    procedure_text,
    results,
    statements,
    table_types,
    temp_tables,
)
from mssql_emulator.engine.catalog import DatabaseCatalog, TableDef
from mssql_emulator.engine.splitter import Statement, block_body, split_statements
from mssql_emulator.engine.translate import VERSION, Scope, Translator

if TYPE_CHECKING:
    from mssql_emulator.engine.engine import DuckDBEngine

BATCH_ROWS = 8192


def _bindable(value: Any) -> Any:
    """Python values as DuckDB binds them; aware datetimes keep their offset as text."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        offset = value.utcoffset() or dt.timedelta()
        minutes = int(offset.total_seconds() // 60)
        sign = "-" if minutes < 0 else "+"
        naive = value.replace(tzinfo=None).isoformat(sep=" ")
        return f"{naive} {sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, decimal.Decimal) and not value.is_finite():
        return None
    return value


def _unit_end(parts: list[Statement], i: int) -> int:
    """Index after the unit starting at ``i``: a statement, or IF cond unit [ELSE unit]."""
    if statements.if_condition(parts[i].text) is None:
        return i + 1
    if i + 1 >= len(parts):
        return i + 1
    end = _unit_end(parts, i + 1)
    if end < len(parts) and parts[end].text.upper() == "ELSE" and end + 1 < len(parts):
        return _unit_end(parts, end + 1)
    return end


class DuckDBSession:
    """Implements ``mssql_emulator.contract.Session`` over one DuckDB connection."""

    def __init__(self, engine: DuckDBEngine, database: str, user: str, spid: int) -> None:
        self._engine = engine
        self.database = database
        self.user = user
        self.spid = spid
        self._con = engine.connect(database)
        self.applocks = engine.applocks
        self._lock = threading.RLock()
        self._reader: pa.RecordBatchReader | None = None
        self._trancount = 0
        self._txn_db: str | None = None
        self._txn_log: list[tuple[str, dict[str, Any] | None, pa.Table | None]] = []
        self._txn_ddl = False
        # (database, transaction number) once the transaction changed a tracked table.
        self._ct_pending: tuple[str, int] | None = None
        self.ct_context: bytes | None = None  # WITH CHANGE_TRACKING_CONTEXT of this statement
        self.isolation_level = 2  # sys.dm_exec_sessions codes: 2 READ COMMITTED, 5 SNAPSHOT
        self._internal_txn = False
        self.variables: dict[str, Any] = {}
        self.variable_types: dict[str, SqlType | None] = {}
        self.identity: Any = None
        self.rowcount = 0
        self.identity_insert: set[int] = set()
        self.error_table: TableDef | None = None
        self.error_verb = ""
        self._closed = False
        self.read_only = user.lower() in engine.read_only_users
        self.insert_cache: dict[tuple[Any, ...], Any] = {}
        self.temp_catalog = temp_tables.new_catalog()  # #temp tables and @table variables
        self.cancelled = threading.Event()  # set by cancel(): ends a WAITFOR early
        self.xact_abort = False  # SET XACT_ABORT ON: any error rolls the transaction back
        self.nocount = False  # SET NOCOUNT ON: statements report no row counts to the client

    # -- contract ---------------------------------------------------------------------------

    @property
    def in_transaction(self) -> bool:
        return self._trancount > 0

    @property
    def trancount(self) -> int:
        return self._trancount

    def execute(self, sql: str, params: list[Param] | None = None) -> Iterator[StatementResult]:
        with self._lock:
            self._close_reader()
            call_params: dict[str, Any] = {}
            call_types: dict[str, SqlType | None] = {}
            for p in table_types.bind_table_params(self, params or []):
                key = p.name.lstrip("@").lower()
                call_params[key] = _bindable(p.value)
                call_types[key] = p.type
            # CREATE/ALTER PROCEDURE takes the whole batch: its body runs to the batch's end.
            parts = procedure_text.batch_statements(sql)
        try:
            yield from self._run_units(parts, call_params, call_types)
        except procedure_calls.ProcedureReturn:
            return  # RETURN outside a procedure ends the batch

    def run_statements(self, sql: str) -> Iterator[StatementResult]:
        """Run a procedure body in the current variables (RETURN propagates to the caller).

        SET NOCOUNT and SET XACT_ABORT inside it last until it returns, as in SQL Server.
        """
        options = (self.nocount, self.xact_abort)
        try:
            yield from self._run_units(split_statements(sql), {}, {})
        finally:
            self.nocount, self.xact_abort = options

    def _run_units(
        self,
        parts: list[Statement],
        call_params: dict[str, Any],
        call_types: dict[str, SqlType | None],
    ) -> Iterator[StatementResult]:
        """Run statements in order; ``IF``/``ELSE`` choose units, ``BEGIN … END`` nests them."""
        i = 0
        while i < len(parts):
            end = _unit_end(parts, i)
            yield from self._run_unit(parts[i:end], call_params, call_types)
            i = end

    def _run_unit(
        self,
        unit: list[Statement],
        call_params: dict[str, Any],
        call_types: dict[str, SqlType | None],
    ) -> Iterator[StatementResult]:
        head = unit[0]
        condition = statements.if_condition(head.text)
        if condition is not None:
            if len(unit) < 2:
                raise SqlError(102, "Incorrect syntax near 'IF'.", severity=15, line=head.line)
            then_end = _unit_end(unit, 1)
            with self._bound(call_params, call_types):
                truth = self._run_condition(condition, head.line)
            if truth:
                yield from self._run_unit(unit[1:then_end], call_params, call_types)
            elif then_end < len(unit):  # unit[then_end] is ELSE
                yield from self._run_unit(unit[then_end + 1 :], call_params, call_types)
            return
        if head.text.upper() == "ELSE":
            raise SqlError(156, "Incorrect syntax near the keyword 'ELSE'.", severity=15)
        body = block_body(head.text)
        if body is not None:
            yield from self._run_units(split_statements(body), call_params, call_types)
            return
        call = procedure_calls.find_call(self, head.text)
        if call is not None:
            yield from procedure_calls.run(self, call, call_params, call_types, head.line)
            return
        with self._bound(call_params, call_types):
            result = self._run_guarded(head.text, head.line)
        yield result

    @contextmanager
    def _bound(
        self, call_params: dict[str, Any], call_types: dict[str, SqlType | None]
    ) -> Iterator[None]:
        """The call's parameters visible as variables while one statement runs."""
        with self._lock:
            self._close_reader()
            self.error_table, self.error_verb = None, ""
            declared = set(self.variables)
            self.variables.update(call_params)
            self.variable_types.update(call_types)
            try:
                yield
            finally:
                for key in call_params:
                    if key not in declared:
                        self.variables.pop(key, None)
                        self.variable_types.pop(key, None)

    def _run_condition(self, condition: str, line: int) -> bool:
        found = self._run_guarded(f"SELECT CASE WHEN {condition} THEN 1 ELSE 0 END", line)
        assert found.result_set is not None
        values = [v for b in found.result_set.batches for v in b.column(0).to_pylist()]
        return values == [1]

    def begin(self, isolation_level: int = 0) -> None:
        """BEGIN TRANSACTION; a TDS transaction-manager request may set the isolation level
        too (its codes are sys.dm_exec_sessions' 1-5, 0 keeps the current level)."""
        with self._lock:
            self._close_reader()
            if isolation_level in isolation.LEVELS.values():
                self.isolation_level = isolation_level
            if self._trancount == 0:
                self._con.execute("BEGIN TRANSACTION")
                self._txn_log = []
                self._txn_ddl = False
                self._txn_db = None
            self._trancount += 1

    def commit(self) -> None:
        with self._lock:
            self._close_reader()
            if self._trancount == 0:
                raise SqlError(
                    3902, "The COMMIT TRANSACTION request has no corresponding BEGIN TRANSACTION."
                )
            self._trancount -= 1
            if self._trancount == 0:
                self._commit_duckdb()

    def rollback(self) -> None:
        with self._lock:
            self._close_reader()
            if self._trancount == 0:
                raise SqlError(
                    3903, "The ROLLBACK TRANSACTION request has no corresponding BEGIN TRANSACTION."
                )
            self._trancount = 0
            self._rollback_duckdb()

    def describe_parameters(self, sql: str) -> list[Column]:
        return []

    def bulk_insert(
        self,
        table: str,
        columns: list[str],
        data: pa.Table,
        source_types: list[str],
        *,
        keep_identity: bool,
    ) -> int:
        """The rows of a TDS bulk load (``tds.bulk_load``), inserted as one statement."""
        from mssql_emulator.engine.bulk_insert import bulk_insert

        with self._lock:
            self._close_reader()
            self.error_table, self.error_verb = None, ""
            try:
                self._engine.flush_catalog_rows()
                count = bulk_insert(
                    self, table, columns, data, source_types, keep_identity=keep_identity
                )
            except SqlError:
                self._after_error()
                raise
            except duckdb.Error as exc:
                context = errors.ErrorContext(self.database, self.error_table, self.error_verb)
                error = errors.from_duckdb(exc, context)
                self._after_error()
                raise error from exc
            self.rowcount = count
            return count

    def reset_connection(self) -> None:
        """What ``sp_reset_connection`` (a pooled connection reused) resets: the SET options
        this engine keeps, the isolation level, variables and temporary tables."""
        with self._lock:
            self._close_reader()
            self.nocount = self.xact_abort = False
            self.isolation_level = 2
            self.variables.clear()
            self.variable_types.clear()
            for table in list(self.temp_catalog.objects.values()):
                with suppress(duckdb.Error):
                    self._con.execute(f'DROP TABLE IF EXISTS "temp"."main"."{table.name}"')
                self.temp_catalog.remove(table)

    def cancel(self) -> None:
        self.cancelled.set()
        # The session may have closed meanwhile: then there is nothing left to interrupt.
        with suppress(duckdb.Error):
            self._con.interrupt()
        self._engine.applocks.cancel(self.spid)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._close_reader()
            if self._trancount:
                self._trancount = 0
                with suppress(SqlError):
                    self._rollback_duckdb()
            self._con.close()
            self._engine.session_closed(self)

    # -- helpers used by statement handlers --------------------------------------------------

    def resolve_database(self, name: str) -> str | None:
        return self._engine.resolve_database(name)

    @property
    def database_host(self) -> DuckDBEngine:
        """The engine, as the owner of databases (CREATE/DROP DATABASE)."""
        return self._engine

    def catalog(self, name: str) -> DatabaseCatalog | None:
        return self._engine.catalog(name)

    def translator(self) -> Translator:
        return Translator(self.scope())

    def scope(self) -> Scope:
        engine = self._engine
        globals_: dict[str, Any] = {
            "version": VERSION,
            "spid": self.spid,
            "trancount": self._trancount,
            "rowcount": self.rowcount,
            "identity": self.identity,
            "servername": "mssql_emulator",
            "servicename": "MSSQLSERVER",
            "language": "us_english",
            "error": 0,
            "max_precision": 38,
            "textsize": 2147483647,
            "datefirst": 7,
            "options": 5496,
            "lock_timeout": -1,
            "fetch_status": 0,
            "nestlevel": 0,
            "langid": 0,
            "microsoftversion": 268436456,
            "__databases__": engine.database_names(),
        }
        return Scope(
            database=self.database,
            catalogs=engine.catalog,
            resolve_db=engine.resolve_database,
            variables=self.variables,
            variable_types=self.variable_types,
            globals=globals_,
            user=self.user,
            server_view=engine.server_view,
            temp_catalog=self.temp_catalog,
        )

    def params_for(self, sql: str) -> dict[str, Any] | None:
        """Values of the ``$name`` parameters ``sql`` uses (DuckDB rejects extra ones)."""
        if "$" not in sql:
            return None
        named = {m.lower() for m in re.findall(r"\$([A-Za-z_][\w]*)", sql)}
        used = {k: v for k, v in self.variables.items() if k in named}
        return used or None

    def relation(self, sql: str) -> duckdb.DuckDBPyRelation:
        """A read-only relation (not logged for replay)."""
        rel = self._con.sql(sql, params=self.params_for(sql))
        assert rel is not None
        return rel

    def run(self, sql: str) -> duckdb.DuckDBPyRelation | None:
        """Run a writing statement; inside a transaction it is logged for statement rollback."""
        params = self.params_for(sql)
        rel = self._con.sql(sql, params=params)
        if self._trancount > 0 and not self._internal_txn:
            self._txn_log.append((sql, params, None))
        return rel

    def run_with_arrow(self, sql: str, keys: pa.Table) -> None:
        self._con.register("__ct_keys", keys)
        try:
            self._con.execute(sql)
        finally:
            self._con.unregister("__ct_keys")
        if self._trancount > 0 and not self._internal_txn:
            self._txn_log.append((sql, None, keys))

    def record_changes(
        self, database: str, table: TableDef, op: str, keys: pa.Table, columns: list[int] | None
    ) -> None:
        """Log the keys a statement changed in a tracked table; versioned at commit."""
        catalog = self._engine.catalog(database)
        assert catalog is not None
        if self._ct_pending is None:
            self._ct_pending = (database, catalog.next_ct_number())
        sql = change_tracking.record_sql(
            database,
            table,
            op,
            txn=self._ct_pending[1],
            seq=catalog.next_ct_number(),
            columns=columns,
            context=self.ct_context,
        )
        self.run_with_arrow(sql, keys)

    def other_sessions(self) -> list[DuckDBSession]:
        return [s for s in self._engine.sessions() if s is not self]

    def tables_written(self) -> set[str]:
        """Tables this session's open transaction has written (none once it ended)."""
        if self._trancount == 0 or self._txn_ddl:
            return set()
        return dirty_reads.written_tables(sql for sql, _, _ in list(self._txn_log))

    def own_view(self, tables: set[str]) -> dict[str, pa.Table]:
        """These tables as this session's transaction sees them, if it is idle right now."""
        if not self._lock.acquire(blocking=False):
            return {}
        try:
            if self._reader is not None or self._trancount == 0:
                return {}
            return {
                name: self._con.sql(f"SELECT * FROM {name}").to_arrow_table() for name in tables
            }
        finally:
            self._lock.release()

    def mark_ddl(self) -> None:
        self._txn_ddl = True
        self._engine.ddl_generation += 1

    def insert_cache_key(self, text: str) -> tuple[Any, ...]:
        """What a prepared INSERT depends on besides its text: catalog and value types."""
        types = tuple(
            sorted(
                (k, type(v).__name__, str(self.variable_types.get(k)))
                for k, v in self.variables.items()
            )
        )
        return (
            self.database,
            text,
            self._engine.ddl_generation,
            frozenset(self.identity_insert),
            types,
        )

    def remember_insert(self, key: tuple[Any, ...], prepared: Any) -> None:
        """Keep a prepared INSERT or SELECT translation (bounded)."""
        if len(self.insert_cache) >= 256:
            self.insert_cache.clear()
        self.insert_cache[key] = prepared

    def set_identity(self, value: Any) -> None:
        self.identity = value

    def queue_catalog_rows(self, database: str, rows: dict[str, list[tuple[Any, ...]]]) -> None:
        self._engine.queue_catalog_rows(database, rows)

    @contextmanager
    def write_scope(self, database: str, *, atomic: bool = True) -> Iterator[None]:
        """Writes outside a user transaction run in their own (SQL Server autocommit)."""
        if not atomic and self._trancount == 0:
            yield
            return
        if self._trancount > 0 and database == temp_tables.TEMP_DATABASE:
            yield  # DuckDB lets a transaction write to its temporary tables and one database
            return
        if self._trancount > 0:
            if self._txn_db is not None and self._txn_db.lower() != database.lower():
                raise SqlError(
                    3916, "A transaction may write to only one database in this emulator."
                )
            self._txn_db = database
            yield
            return
        self._con.execute("BEGIN TRANSACTION")
        self._internal_txn = True
        self._txn_ddl = False
        try:
            yield
        except BaseException:
            self._internal_txn = False
            self._rollback_duckdb()
            raise
        self._internal_txn = False
        self._commit_duckdb()

    # -- internals -------------------------------------------------------------------------

    def _commit_duckdb(self) -> None:
        pending, self._ct_pending = self._ct_pending, None
        if pending is None:
            self._con.execute("COMMIT")
        else:
            catalog = self._engine.catalog(pending[0])
            assert catalog is not None
            change_tracking.commit(self._con, catalog, pending[1])
        self._txn_log = []
        self._txn_ddl = False
        self._txn_db = None
        self._engine.applocks.release_all(self.spid, "transaction")

    def _rollback_duckdb(self) -> None:
        with suppress(duckdb.Error):
            self._con.execute("ROLLBACK")
        self._ct_pending = None
        self._txn_log = []
        if self._txn_ddl:
            self._engine.reload_catalogs(self._con)
            temp_tables.prune(self._con, self.temp_catalog)
        self._txn_ddl = False
        self._txn_db = None
        self._engine.applocks.release_all(self.spid, "transaction")

    def _close_reader(self) -> None:
        if self._reader is not None:
            # An abandoned reader may already be broken; closing it is best effort.
            with suppress(Exception):
                self._reader.close()
            self._reader = None

    def _transaction_aborted(self) -> bool:
        try:
            self._con.execute("SELECT 1").fetchall()
            return False
        except duckdb.Error:
            return True

    def _statement_rollback(self) -> None:
        """Undo only the failed statement: DuckDB aborts the whole transaction, so replay."""
        log = self._txn_log
        self._con.execute("ROLLBACK")
        self._con.execute("BEGIN TRANSACTION")
        self._txn_log = []
        for sql, params, keys in log:
            if keys is not None:
                self.run_with_arrow(sql, keys)
            else:
                rel = self._con.sql(sql, params=params)
                if rel is not None:
                    rel.fetchall()
                self._txn_log.append((sql, params, None))

    def _run_guarded(self, text: str, line: int) -> StatementResult:
        try:
            if not text[:12].upper().startswith("CREATE TABLE"):
                self._engine.flush_catalog_rows()
            result = statements.run(self, text)
        except SqlError as exc:
            exc.line = line
            self._after_error(exc)
            raise
        except duckdb.Error as exc:
            error = errors.from_duckdb(
                exc, errors.ErrorContext(self.database, self.error_table, self.error_verb)
            )
            error.line = line
            self._after_error(error)
            raise error from exc
        if result.rowcount is not None:
            self.rowcount = result.rowcount
            if self.nocount and result.result_set is None:
                result.rowcount = None  # @@ROWCOUNT still counts; the client is not told
        return result

    def _after_error(self, error: SqlError | None = None) -> None:
        """Undo what a failed statement did: itself only, or the whole transaction when
        SQL Server would (``SET XACT_ABORT ON``, or an error that dooms the transaction)."""
        if (
            self._trancount > 0
            and error is not None
            and (self.xact_abort or errors.aborts_transaction(error.number))
        ):
            self._trancount = 0
            self._rollback_duckdb()
            return
        if self._trancount > 0 and self._transaction_aborted():
            try:
                self._statement_rollback()
            except duckdb.Error:
                self._trancount = 0
                self._rollback_duckdb()

    def select(
        self, sql: str, hints: list[results.Hint] | None, shown: list[str] | None = None
    ) -> StatementResult:
        """Run a query and stream its rows as Arrow batches."""
        views: dict[str, pa.Table] = {}
        if self.isolation_level == isolation.READ_UNCOMMITTED:
            self._refresh_snapshot()
            views = dirty_reads.uncommitted_tables(self, sql)
        if views:
            names, duck_types, reader = self._read_over(sql, views)
        else:
            rel = self.relation(sql)
            names, duck_types = list(rel.columns), [str(t) for t in rel.types]
            reader = rel.to_arrow_reader(BATCH_ROWS)
        columns = results.result_columns(names, duck_types, hints, shown)
        self._reader = reader
        first: pa.RecordBatch | None
        try:
            first = reader.read_next_batch()
        except StopIteration:
            first = None
        result = StatementResult(result_set=None, rowcount=None)
        result.result_set = ResultSet(
            columns, self._stream(reader, first, columns, duck_types, result)
        )
        return result

    def _refresh_snapshot(self) -> None:
        """A transaction that has written nothing reads the latest commits (as SQL Server's
        READ UNCOMMITTED does), not the snapshot DuckDB took at its first read."""
        if self._trancount and not (self._txn_log or self._txn_ddl or self._ct_pending):
            self._con.execute("ROLLBACK")
            self._con.execute("BEGIN TRANSACTION")

    def _read_over(
        self, sql: str, views: dict[str, pa.Table]
    ) -> tuple[list[str], list[str], pa.RecordBatchReader]:
        """``sql`` run over other transactions' rows: read whole, while they are registered."""
        registered = {name: f"__uncommitted_{i}" for i, name in enumerate(views)}
        for name, view in registered.items():
            self._con.register(view, views[name])
        try:
            rel = self.relation(dirty_reads.substitute(sql, registered))
            names, duck_types = list(rel.columns), [str(t) for t in rel.types]
            table = rel.to_arrow_table()
        finally:
            for view in registered.values():
                self._con.unregister(view)
        batches = table.to_batches(BATCH_ROWS)
        return names, duck_types, pa.RecordBatchReader.from_batches(table.schema, batches)

    def _stream(
        self,
        reader: pa.RecordBatchReader,
        first: pa.RecordBatch | None,
        columns: list[Column],
        duck_types: list[str],
        result: StatementResult,
    ) -> Iterator[pa.RecordBatch]:
        count = 0

        def batches() -> Iterator[pa.RecordBatch]:
            if first is not None:
                yield first
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    if self._reader is reader:
                        self._reader = None  # read to the end: the connection is free again
                    return
                except duckdb.Error as exc:
                    raise errors.from_duckdb(exc, errors.ErrorContext(self.database)) from exc
                yield batch

        for batch in results.cast_batches(batches(), columns, duck_types):
            count += batch.num_rows
            yield batch
        result.rowcount = count
        self.rowcount = count

    def message(self, number: int, text: str) -> Message:
        return Message(number, text)

    def change_database(self, name: str) -> None:
        self._con.execute(f'USE "{name}"."dbo"')
        self.database = name

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        rel = self.relation(sql)
        return rel.fetchall()

    def ddl_statement(self, sql: str) -> None:
        """Run a statement without a result, logged for statement rollback like ``run``."""
        self._con.execute(sql)
        if self._trancount > 0 and not self._internal_txn:
            self._txn_log.append((sql, None, None))

    def expression_value(self, node: exp.Expression) -> Any:
        sql = "SELECT " + self.translator().sql(node)
        rows = self.relation(sql).fetchall()
        row = rows[0] if rows else None
        return row[0] if row else None
