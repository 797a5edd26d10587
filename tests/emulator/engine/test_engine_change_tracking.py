"""Change Tracking: versions per committed transaction, CHANGETABLE(CHANGES ...)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from engine_helpers import param, query, run, scalar

from mssql_emulator.contract import SqlError
from mssql_emulator.engine import DuckDBSession


@pytest.fixture
def tracked(session: DuckDBSession) -> DuckDBSession:
    run(
        session,
        """
        ALTER DATABASE testdb SET CHANGE_TRACKING = ON
            (CHANGE_RETENTION = 2 DAYS, AUTO_CLEANUP = ON)
        CREATE TABLE dbo.items (id INT NOT NULL PRIMARY KEY, name NVARCHAR(20))
        ALTER TABLE dbo.items ENABLE CHANGE_TRACKING WITH (TRACK_COLUMNS_UPDATED = OFF)
    """,
    )
    return session


def _changes(session: DuckDBSession, since: int) -> list[tuple[object, ...]]:
    _, rows = query(
        session,
        """
        SELECT ct.id, ct.SYS_CHANGE_OPERATION, ct.SYS_CHANGE_VERSION
        FROM CHANGETABLE(CHANGES dbo.items, @last) AS ct ORDER BY ct.id""",
        [param("@last", "bigint", since)],
    )
    return rows


def test_versions_advance_per_committed_transaction(tracked: DuckDBSession) -> None:
    start = scalar(tracked, "SELECT CHANGE_TRACKING_CURRENT_VERSION()")
    assert start == 0
    assert scalar(tracked, "SELECT CHANGE_TRACKING_MIN_VALID_VERSION(OBJECT_ID('dbo.items'))") == 0
    run(tracked, "INSERT INTO items VALUES (1, N'a'), (2, N'b')")
    assert scalar(tracked, "SELECT CHANGE_TRACKING_CURRENT_VERSION()") == 1
    run(tracked, "BEGIN TRAN")
    run(tracked, "UPDATE items SET name = N'bb' WHERE id = 2")
    run(tracked, "INSERT INTO items VALUES (3, N'c')")
    run(tracked, "COMMIT")
    assert scalar(tracked, "SELECT CHANGE_TRACKING_CURRENT_VERSION()") == 2
    run(tracked, "DELETE FROM items WHERE id = 1")
    assert scalar(tracked, "SELECT CHANGE_TRACKING_CURRENT_VERSION()") == 3
    assert _changes(tracked, 0) == [(1, "D", 3), (2, "I", 2), (3, "I", 2)]
    assert _changes(tracked, 1) == [(1, "D", 3), (2, "U", 2), (3, "I", 2)]
    assert _changes(tracked, 2) == [(1, "D", 3)]
    assert _changes(tracked, 3) == []


def test_rolled_back_changes_leave_no_trace(tracked: DuckDBSession) -> None:
    run(tracked, "INSERT INTO items VALUES (1, N'a')")
    run(tracked, "BEGIN TRAN")
    run(tracked, "INSERT INTO items VALUES (2, N'b')")
    run(tracked, "ROLLBACK")
    assert scalar(tracked, "SELECT CHANGE_TRACKING_CURRENT_VERSION()") == 1
    assert _changes(tracked, 0) == [(1, "I", 1)]


def test_concurrent_sessions_get_distinct_versions(
    tracked: DuckDBSession, session_factory: Callable[..., DuckDBSession]
) -> None:
    other = session_factory()
    run(tracked, "BEGIN TRAN")
    run(tracked, "INSERT INTO items VALUES (10, N'x')")
    run(other, "INSERT INTO items VALUES (20, N'y')")
    run(tracked, "COMMIT")
    _, rows = query(
        other, "SELECT id, SYS_CHANGE_VERSION FROM CHANGETABLE(CHANGES items, 0) c ORDER BY id"
    )
    assert rows == [(10, 2), (20, 1)]


def test_join_changes_with_current_rows(tracked: DuckDBSession) -> None:
    run(tracked, "INSERT INTO items VALUES (1, N'a'), (2, N'b')")
    run(tracked, "UPDATE items SET name = N'z' WHERE id = 1")
    _, rows = query(
        tracked,
        """
        SELECT ct.SYS_CHANGE_OPERATION, t.id, t.name
        FROM CHANGETABLE(CHANGES dbo.items, 1) AS ct
        LEFT JOIN dbo.items t ON t.id = ct.id""",
    )
    assert rows == [("U", 1, "z")]


def test_change_tracking_requires_database_and_primary_key(session: DuckDBSession) -> None:
    run(session, "CREATE TABLE dbo.nokey (a INT)")
    with pytest.raises(SqlError) as err:
        run(session, "ALTER TABLE dbo.nokey ENABLE CHANGE_TRACKING")
    assert err.value.number == 4997
    assert scalar(session, "SELECT CHANGE_TRACKING_CURRENT_VERSION()") is None
    run(session, "ALTER DATABASE CURRENT SET CHANGE_TRACKING = ON")
    with pytest.raises(SqlError) as err:
        run(session, "ALTER TABLE dbo.nokey ENABLE CHANGE_TRACKING")
    assert err.value.number == 4997


def test_change_tracking_tables_catalog(tracked: DuckDBSession) -> None:
    assert (
        scalar(
            tracked,
            "SELECT COUNT(*) FROM sys.change_tracking_tables "
            "WHERE object_id = OBJECT_ID('dbo.items')",
        )
        == 1
    )
