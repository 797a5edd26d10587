"""A tiny DuckDB-backed Engine double, used only until the real engine is importable."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import duckdb
import pyarrow as pa

from mssql_emulator.contract import Column, Param, ResultSet, SqlError, SqlType, StatementResult

_PARAM = re.compile(r"@P\d+|\?", re.IGNORECASE)


def _sql_type(t: pa.DataType) -> SqlType:
    if pa.types.is_boolean(t):
        return SqlType("bit")
    if pa.types.is_int64(t):
        return SqlType("bigint")
    if pa.types.is_integer(t):
        return SqlType("int")
    if pa.types.is_float32(t):
        return SqlType("real")
    if pa.types.is_floating(t):
        return SqlType("float")
    if pa.types.is_decimal(t):
        return SqlType("decimal", precision=t.precision, scale=t.scale)
    if pa.types.is_date(t):
        return SqlType("date")
    if pa.types.is_timestamp(t):
        return SqlType("datetime2", scale=6)
    if pa.types.is_time(t):
        return SqlType("time", scale=6)
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return SqlType("varbinary", length=-1)
    return SqlType("nvarchar", length=-1)


class FakeSession:
    def __init__(self, con: duckdb.DuckDBPyConnection, database: str) -> None:
        self.con = con
        self.database = database
        self._in_tran = False

    def execute(self, sql: str, params: list[Param] | None = None) -> Iterator[StatementResult]:
        text = sql.strip().rstrip(";")
        low = text.lower()
        if low.startswith(("set ", "use ")) or not text:
            yield StatementResult()
            return
        if low in ("begin tran", "begin transaction"):
            self.begin()
            yield StatementResult()
            return
        if low in ("commit", "commit tran", "commit transaction"):
            self.commit()
            yield StatementResult()
            return
        values = [p.value for p in params or []]
        text = _PARAM.sub("?", text).replace("REPLICATE(", "repeat(")
        try:
            rel = self.con.sql(text, params=values or None)
            table = rel.to_arrow_table() if rel is not None else None
        except duckdb.Error as exc:
            raise SqlError(102, str(exc).splitlines()[0], severity=15) from exc
        if table is None:
            yield StatementResult(rowcount=None)
            return
        columns = [Column(f.name, _sql_type(f.type)) for f in table.schema]
        yield StatementResult(result_set=ResultSet(columns, iter(table.to_batches())))

    def begin(self) -> None:
        if not self._in_tran:
            self.con.execute("BEGIN")
            self._in_tran = True

    def commit(self) -> None:
        if self._in_tran:
            self.con.execute("COMMIT")
            self._in_tran = False

    def rollback(self) -> None:
        if self._in_tran:
            self.con.execute("ROLLBACK")
            self._in_tran = False

    @property
    def in_transaction(self) -> bool:
        return self._in_tran

    def describe_parameters(self, sql: str) -> list[Column]:
        return []

    def cancel(self) -> None:
        self.con.interrupt()

    def close(self) -> None:
        self.con.close()


class FakeEngine:
    def __init__(self, databases: list[str]) -> None:
        self.databases = databases
        self.db = duckdb.connect()
        self._lock = threading.Lock()

    def has_database(self, name: str) -> bool:
        return name.lower() in (d.lower() for d in self.databases)

    def open_session(self, database: str, user: str) -> FakeSession:
        with self._lock:
            return FakeSession(self.db.cursor(), database)

    def close(self) -> None:
        self.db.close()
