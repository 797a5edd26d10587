"""Temporary tables (#t), table variables (@t) and WAITFOR."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from engine_helpers import query, scalar

from mssql_emulator.contract import SqlError
from mssql_emulator.engine import DuckDBSession

Factory = Callable[..., DuckDBSession]


def _run(session: DuckDBSession, sql: str) -> None:
    for result in session.execute(sql):
        if result.result_set is not None:
            list(result.result_set.batches)


def _error(session: DuckDBSession, sql: str) -> SqlError:
    with pytest.raises(SqlError) as info:
        _run(session, sql)
    return info.value


def test_temp_table_lifecycle(session: DuckDBSession) -> None:
    _run(session, "CREATE TABLE #work (id int IDENTITY(10, 5) PRIMARY KEY, name varchar(20))")
    _run(session, "INSERT INTO #work (name) VALUES ('a'), ('b'), ('c')")
    assert scalar(session, "SELECT SCOPE_IDENTITY()") == 20
    _run(session, "UPDATE #work SET name = 'B' WHERE id = 15")
    _run(session, "DELETE FROM #work WHERE id = 20")
    columns, rows = query(session, "SELECT * FROM #work ORDER BY id")
    assert rows == [(10, "a"), (15, "B")]
    assert [str(c.type) for c in columns] == ["int", "varchar(20)"]
    assert scalar(session, "SELECT COUNT(*) FROM tempdb..#work w WHERE w.name = 'a'") == 1
    assert scalar(session, "SELECT OBJECT_ID('tempdb..#work')") is not None
    assert _error(session, "CREATE TABLE #work (x int)").number == 2714
    _run(session, "SELECT id INTO #copy FROM #work WHERE id > 10")
    assert scalar(session, "SELECT id FROM #copy") == 15
    _run(session, "DROP TABLE #work")
    assert _error(session, "SELECT * FROM #work").number == 208
    assert scalar(session, "SELECT OBJECT_ID('tempdb..#work')") is None
    _run(session, "IF OBJECT_ID('tempdb..#copy') IS NOT NULL DROP TABLE #copy")
    assert _error(session, "SELECT * FROM #copy").number == 208


def test_temp_tables_are_private_and_dropped_at_disconnect(session_factory: Factory) -> None:
    first, second = session_factory(), session_factory()
    _run(first, "CREATE TABLE #mine (x int)")
    _run(second, "CREATE TABLE #mine (y varchar(5))")  # the same name, another table
    _run(first, "INSERT INTO #mine VALUES (1)")
    assert scalar(second, "SELECT COUNT(*) FROM #mine") == 0
    assert scalar(first, "SELECT COUNT(*) FROM sys.tables WHERE name LIKE '#%'") == 0
    first.close()
    third = session_factory()
    assert _error(third, "SELECT * FROM #mine").number == 208


def test_temp_table_and_database_written_in_one_transaction(session: DuckDBSession) -> None:
    _run(session, "CREATE TABLE kept (id int)")
    _run(session, "CREATE TABLE #staging (id int)")
    _run(session, "BEGIN TRAN")
    _run(session, "INSERT INTO #staging VALUES (1), (2)")
    _run(session, "INSERT INTO kept SELECT id FROM #staging")
    _run(session, "COMMIT")
    assert scalar(session, "SELECT COUNT(*) FROM kept") == 2


def test_temp_table_created_in_a_rolled_back_transaction_is_gone(session: DuckDBSession) -> None:
    _run(session, "BEGIN TRAN")
    _run(session, "CREATE TABLE #gone (x int)")
    _run(session, "ROLLBACK")
    assert _error(session, "SELECT * FROM #gone").number == 208
    _run(session, "CREATE TABLE #gone (x int)")


def test_table_variable(session: DuckDBSession) -> None:
    _, rows = query(
        session,
        "DECLARE @t TABLE (id int, name nvarchar(10)); "
        "INSERT INTO @t VALUES (1, N'x'), (2, N'y'); "
        "SELECT t.name FROM @t t WHERE t.id = 2",
    )
    assert rows == [("y",)]
    _, rows = query(session, "DECLARE @t TABLE (id int); SELECT * FROM @t")
    assert rows == []  # a new batch declares a new, empty variable
    error = _error(session, "SELECT * FROM @nothing")
    assert (error.number, error.message) == (1087, 'Must declare the table variable "@nothing".')


def test_waitfor_delay_waits(session: DuckDBSession) -> None:
    started = time.monotonic()
    _run(session, "WAITFOR DELAY '00:00:00.300'")
    assert time.monotonic() - started >= 0.29


def test_waitfor_is_cancelled_by_attention(session: DuckDBSession) -> None:
    timer = threading.Timer(0.2, session.cancel)
    timer.start()
    started = time.monotonic()
    error = _error(session, "WAITFOR DELAY '00:01'")
    assert error.number == 3617
    assert time.monotonic() - started < 5
    assert scalar(session, "SELECT 1") == 1  # the session goes on


def test_waitfor_rejects_a_bad_time(session: DuckDBSession) -> None:
    assert _error(session, "WAITFOR DELAY '25:00'").number == 148
    assert _error(session, "WAITFOR DELAY 'soon'").number == 148


def test_reset_connection_forgets_session_state(session: DuckDBSession) -> None:
    _run(session, "SET NOCOUNT ON")
    _run(session, "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")
    _run(session, "CREATE TABLE #left_over (x int)")
    session.reset_connection()
    assert session.nocount is False
    assert session.isolation_level == 2
    assert _error(session, "SELECT * FROM #left_over").number == 208
    _run(session, "CREATE TABLE #left_over (x int)")
