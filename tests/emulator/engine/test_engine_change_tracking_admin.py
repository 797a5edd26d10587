"""Change Tracking administration: switches, catalog views, TRUNCATE, cleanup, snapshots."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from engine_helpers import query, run, scalar

from mssql_emulator.contract import SqlError
from mssql_emulator.engine import DuckDBEngine, DuckDBSession

Factory = Callable[..., DuckDBSession]
MIN_VALID = "SELECT CHANGE_TRACKING_MIN_VALID_VERSION(OBJECT_ID('dbo.t'))"
CURRENT = "SELECT CHANGE_TRACKING_CURRENT_VERSION()"


def _error(session: DuckDBSession, sql: str) -> SqlError:
    with pytest.raises(SqlError) as err:
        run(session, sql)
    return err.value


@pytest.fixture
def tracked(session: DuckDBSession) -> DuckDBSession:
    run(
        session,
        """
        ALTER DATABASE CURRENT SET CHANGE_TRACKING = ON
        CREATE TABLE dbo.t (id INT CONSTRAINT pk PRIMARY KEY, a INT)
        ALTER TABLE dbo.t ENABLE CHANGE_TRACKING
        """,
    )
    return session


def test_catalog_views_report_the_settings(session: DuckDBSession) -> None:
    assert query(session, "SELECT * FROM sys.change_tracking_databases")[1] == []
    run(
        session,
        """
        ALTER DATABASE testdb SET CHANGE_TRACKING = ON
            (CHANGE_RETENTION = 5 HOURS, AUTO_CLEANUP = OFF)
        CREATE TABLE dbo.t (id INT PRIMARY KEY, a INT)
        ALTER TABLE dbo.t ENABLE CHANGE_TRACKING WITH (TRACK_COLUMNS_UPDATED = ON)
        """,
    )
    columns, rows = query(session, "SELECT * FROM sys.change_tracking_databases")
    assert [c.name for c in columns] == [
        "database_id",
        "is_auto_cleanup_on",
        "retention_period",
        "retention_period_units",
        "retention_period_units_desc",
        "max_cleanup_version",
    ]
    assert rows == [(scalar(session, "SELECT DB_ID()"), 0, 5, 2, "HOURS", None)]
    columns, rows = query(session, "SELECT * FROM sys.change_tracking_tables")
    assert [c.name for c in columns] == [
        "object_id",
        "is_track_columns_updated_on",
        "min_valid_version",
        "begin_version",
        "cleanup_version",
    ]
    assert rows == [(scalar(session, "SELECT OBJECT_ID('dbo.t')"), True, 0, 0, 0)]
    # Settings change in place; the catalog view is server-wide (seen from another database).
    run(session, "ALTER DATABASE CURRENT SET CHANGE_TRACKING (CHANGE_RETENTION = 30 MINUTES)")
    run(session, "ALTER DATABASE CURRENT SET CHANGE_TRACKING (AUTO_CLEANUP = ON)")
    run(session, "USE otherdb")
    _, rows = query(
        session,
        "SELECT is_auto_cleanup_on, retention_period, retention_period_units_desc "
        "FROM sys.change_tracking_databases WHERE database_id = DB_ID('testdb')",
    )
    assert rows == [(1, 30, "MINUTES")]


def test_the_version_outlives_an_off_on_cycle(tracked: DuckDBSession) -> None:
    run(tracked, "INSERT t VALUES (1, 1)\nINSERT t VALUES (2, 2)")
    run(tracked, "ALTER TABLE t DISABLE CHANGE_TRACKING")
    assert scalar(tracked, MIN_VALID) is None
    run(tracked, "ALTER DATABASE CURRENT SET CHANGE_TRACKING = OFF")
    assert scalar(tracked, CURRENT) is None
    assert scalar(tracked, "SELECT COUNT(*) FROM sys.change_tracking_databases") == 0
    run(
        tracked,
        "ALTER DATABASE CURRENT SET CHANGE_TRACKING = ON\nALTER TABLE t ENABLE CHANGE_TRACKING",
    )
    assert (scalar(tracked, CURRENT), scalar(tracked, MIN_VALID)) == (2, 2)
    # Defaults when switched on without options: 2 days, automatic cleanup on.
    _, rows = query(
        tracked,
        "SELECT is_auto_cleanup_on, retention_period, retention_period_units "
        "FROM sys.change_tracking_databases",
    )
    assert rows == [(1, 2, 3)]


@pytest.mark.parametrize(
    ("sql", "number", "state"),
    [
        ("ALTER DATABASE CURRENT SET CHANGE_TRACKING = ON", 5088, 1),
        ("ALTER DATABASE CURRENT SET CHANGE_TRACKING = OFF", 22115, 1),
        ("ALTER TABLE t ENABLE CHANGE_TRACKING", 4996, 1),
        ("ALTER TABLE h ENABLE CHANGE_TRACKING", 4997, 1),
        ("ALTER TABLE u DISABLE CHANGE_TRACKING", 4998, 1),
        ("ALTER TABLE nosuch ENABLE CHANGE_TRACKING", 4902, 1),
        ("ALTER TABLE t ENABLE CHANGE_TRACKING WITH (TRACK_COLUMNS_UPDATED = bogus)", 102, 1),
        ("ALTER TABLE u ENABLE CHANGE_TRACKING (TRACK_COLUMNS_UPDATED = ON)", 102, 1),
        ("BEGIN TRAN\nALTER DATABASE CURRENT SET CHANGE_TRACKING (AUTO_CLEANUP = OFF)", 226, 1),
    ],
)
def test_switches_refuse_what_sql_server_refuses(
    tracked: DuckDBSession, sql: str, number: int, state: int
) -> None:
    run(tracked, "CREATE TABLE u (id INT PRIMARY KEY)\nCREATE TABLE h (a INT)")
    err = _error(tracked, sql)
    assert (err.number, err.state) == (number, state)


@pytest.mark.parametrize(
    ("sql", "number", "state"),
    [
        ("ALTER TABLE t ENABLE CHANGE_TRACKING", 1718, 1),
        ("ALTER DATABASE CURRENT SET CHANGE_TRACKING = OFF", 5089, 1),
        ("ALTER DATABASE CURRENT SET CHANGE_TRACKING (AUTO_CLEANUP = ON)", 5089, 2),
        (
            "ALTER DATABASE CURRENT SET CHANGE_TRACKING = ON "
            "(AUTO_CLEANUP = ON, AUTO_CLEANUP = OFF)",
            5091,
            2,
        ),
        ("ALTER DATABASE CURRENT SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 0 DAYS)", 5092, 1),
        (
            "ALTER DATABASE CURRENT SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 2000000 DAYS)",
            5092,
            1,
        ),
        ("ALTER DATABASE CURRENT SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 1 WEEKS)", 155, 2),
        ("ALTER DATABASE CURRENT SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 1)", 102, 1),
        ("ALTER DATABASE CURRENT SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 1.5 DAYS)", 102, 1),
        ("ALTER DATABASE CURRENT SET CHANGE_TRACKING = ON ()", 102, 1),
        ("ALTER DATABASE CURRENT SET CHANGE_TRACKING ON", 156, 1),
        ("ALTER DATABASE CURRENT SET CHANGE_TRACKING = ON, RECURSIVE_TRIGGERS ON", 22114, 1),
    ],
)
def test_database_switch_refuses_what_sql_server_refuses(
    session: DuckDBSession, sql: str, number: int, state: int
) -> None:
    run(session, "CREATE TABLE t (id INT PRIMARY KEY)")
    err = _error(session, sql)
    assert (err.number, err.state) == (number, state)
    assert scalar(session, CURRENT) is None


def test_messages_name_the_objects(tracked: DuckDBSession) -> None:
    run(tracked, "CREATE TABLE dbo.h (a INT)")
    assert _error(tracked, "ALTER TABLE dbo.h ENABLE CHANGE_TRACKING").message == (
        "Cannot enable change tracking on table 'dbo.h'. Change tracking requires a primary key "
        "on the table. Create a primary key on the table before enabling change tracking."
    )
    run(tracked, "USE otherdb\nCREATE TABLE dbo.x (id INT PRIMARY KEY)")
    assert _error(tracked, "ALTER TABLE dbo.x ENABLE CHANGE_TRACKING").message == (
        "Change tracking must be enabled on database 'otherdb' before it can be enabled on "
        "table 'dbo.x'."
    )


def test_enable_and_disable_roll_back_with_their_transaction(tracked: DuckDBSession) -> None:
    run(tracked, "CREATE TABLE u (id INT PRIMARY KEY)")
    run(tracked, "BEGIN TRAN\nALTER TABLE u ENABLE CHANGE_TRACKING\nROLLBACK")
    run(tracked, "INSERT t VALUES (1, 1)")
    run(tracked, "BEGIN TRAN\nALTER TABLE t DISABLE CHANGE_TRACKING\nROLLBACK")
    assert query(tracked, "SELECT object_id FROM sys.change_tracking_tables")[1] == [
        (scalar(tracked, "SELECT OBJECT_ID('t')"),)
    ]
    assert query(tracked, "SELECT id FROM CHANGETABLE(CHANGES t, 0) AS c")[1] == [(1,)]
    err = _error(tracked, "SELECT * FROM CHANGETABLE(CHANGES u, 0) AS c")
    assert err.number == 22105


def test_truncate_restarts_the_history_at_the_current_version(tracked: DuckDBSession) -> None:
    run(tracked, "INSERT t VALUES (1, 1), (2, 2)")
    run(tracked, "BEGIN TRAN\nTRUNCATE TABLE t\nROLLBACK")
    assert scalar(tracked, MIN_VALID) == 0
    run(tracked, "TRUNCATE TABLE t")
    assert (scalar(tracked, MIN_VALID), scalar(tracked, CURRENT)) == (1, 1)
    _, rows = query(
        tracked, "SELECT min_valid_version, begin_version FROM sys.change_tracking_tables"
    )
    assert rows == [(1, 1)]
    run(tracked, "INSERT t VALUES (3, 3)")
    _, rows = query(
        tracked,
        "SELECT id, SYS_CHANGE_OPERATION, SYS_CHANGE_VERSION FROM CHANGETABLE(CHANGES t, 0) AS c",
    )
    assert rows == [(3, "I", 2)]


def test_dropping_a_tracked_table_forgets_it(tracked: DuckDBSession) -> None:
    run(tracked, "INSERT t VALUES (1, 1)\nDROP TABLE t")
    assert scalar(tracked, "SELECT COUNT(*) FROM sys.change_tracking_tables") == 0
    run(tracked, "CREATE TABLE t (id INT PRIMARY KEY, a INT)\nALTER TABLE t ENABLE CHANGE_TRACKING")
    assert query(tracked, "SELECT * FROM CHANGETABLE(CHANGES t, 0) AS c")[1] == []
    assert scalar(tracked, MIN_VALID) == 1


def _cleanup(session: DuckDBSession, args: str = "") -> list[tuple[object, ...]]:
    return query(session, f"EXEC sys.sp_flowservice_change_tracking_cleanup {args}")[1]


def test_cleanup_up_to_a_version_raises_the_minimum_valid_version(tracked: DuckDBSession) -> None:
    run(tracked, "INSERT t VALUES (1, 1)\nINSERT t VALUES (2, 2)\nUPDATE t SET a = 5 WHERE id = 1")
    assert _cleanup(tracked, "@table_name = N'dbo.t', @up_to_version = 2") == [("dbo.t", 2, 2)]
    assert scalar(tracked, MIN_VALID) == 2
    _, rows = query(
        tracked, "SELECT cleanup_version, min_valid_version FROM sys.change_tracking_tables"
    )
    assert rows == [(2, 2)]
    assert scalar(tracked, "SELECT max_cleanup_version FROM sys.change_tracking_databases") == 2
    # Changes after the cleanup version are all still there.
    _, rows = query(
        tracked, "SELECT id, SYS_CHANGE_OPERATION FROM CHANGETABLE(CHANGES t, 2) AS c ORDER BY id"
    )
    assert rows == [(1, "U")]
    # A later version than the current one cleans up to the current one; positional arguments.
    assert _cleanup(tracked, "N'dbo.t', 99") == [("dbo.t", 3, 1)]
    assert (scalar(tracked, MIN_VALID), scalar(tracked, CURRENT)) == (3, 3)
    assert query(tracked, "SELECT * FROM CHANGETABLE(CHANGES t, 0) AS c")[1] == []


def test_cleanup_by_retention_period(engine: DuckDBEngine, tracked: DuckDBSession) -> None:
    run(tracked, "ALTER DATABASE CURRENT SET CHANGE_TRACKING (CHANGE_RETENTION = 10 MINUTES)")
    run(tracked, "INSERT t VALUES (1, 1)\nINSERT t VALUES (2, 2)\nINSERT t VALUES (3, 3)")
    assert _cleanup(tracked) == [("dbo.t", 0, 0)]  # nothing is ten minutes old yet
    # Age the first two commits (white box: their commit times are emulator metadata).
    raw = engine.connect("testdb")
    raw.execute(
        'UPDATE "testdb"."__sys".ct_commits SET commit_time = commit_time - INTERVAL 11 MINUTE '
        "WHERE version <= 2"
    )
    raw.close()
    assert _cleanup(tracked) == [("dbo.t", 2, 2)]
    assert scalar(tracked, MIN_VALID) == 2
    assert query(tracked, "SELECT id FROM CHANGETABLE(CHANGES t, 2) AS c")[1] == [(3,)]


def test_cleanup_covers_every_tracked_table_and_checks_its_caller(
    tracked: DuckDBSession, session_factory: Factory
) -> None:
    run(tracked, "CREATE TABLE u (id INT PRIMARY KEY)\nALTER TABLE u ENABLE CHANGE_TRACKING")
    run(tracked, "INSERT t VALUES (1, 1)\nINSERT u VALUES (1)")
    assert sorted(_cleanup(tracked, "@up_to_version = 1")) == [("dbo.t", 1, 1), ("dbo.u", 1, 0)]
    assert (
        _error(tracked, "EXEC sys.sp_flowservice_change_tracking_cleanup N'dbo.nosuch'").number
        == 208
    )
    run(tracked, "CREATE TABLE w (id INT PRIMARY KEY)")
    assert _error(tracked, "EXEC sys.sp_flowservice_change_tracking_cleanup N'w'").number == 22105


def test_cleanup_is_refused_to_read_only_logins() -> None:
    engine = DuckDBEngine(["testdb"], read_only_users=("reader",))
    try:
        reader = engine.open_session("testdb", "reader")
        assert _error(reader, "EXEC sys.sp_flowservice_change_tracking_cleanup").number == 229
        reader.close()
    finally:
        engine.close()


def test_snapshot_isolation_needs_the_database_option(
    tracked: DuckDBSession, session_factory: Factory
) -> None:
    run(tracked, "SET TRANSACTION ISOLATION LEVEL SNAPSHOT")
    err = _error(tracked, "BEGIN TRAN\nSELECT COUNT(*) FROM dbo.t")
    assert err.number == 3952
    assert "Use ALTER DATABASE to allow snapshot isolation" in err.message
    run(tracked, "ROLLBACK")
    assert (
        scalar(tracked, "SELECT snapshot_isolation_state FROM sys.databases WHERE name = 'testdb'")
        == 0
    )
    run(session_factory(), "ALTER DATABASE testdb SET ALLOW_SNAPSHOT_ISOLATION ON")
    assert (
        scalar(
            tracked, "SELECT snapshot_isolation_state_desc FROM sys.databases WHERE name = 'testdb'"
        )
        == "ON"
    )
    assert (
        scalar(
            tracked,
            "SELECT transaction_isolation_level FROM sys.dm_exec_sessions "
            "WHERE session_id = @@SPID",
        )
        == 5
    )
    assert scalar(tracked, "SELECT COUNT(*) FROM dbo.t") == 0


def test_a_snapshot_transaction_sees_one_state(
    tracked: DuckDBSession, session_factory: Factory
) -> None:
    """The replicator's read: version, validity check and changes from one snapshot."""
    writer = session_factory()
    run(tracked, "ALTER DATABASE CURRENT SET ALLOW_SNAPSHOT_ISOLATION ON")
    run(writer, "INSERT t VALUES (1, 1)")
    run(tracked, "SET TRANSACTION ISOLATION LEVEL SNAPSHOT\nBEGIN TRAN")
    assert scalar(tracked, CURRENT) == 1
    run(writer, "INSERT t VALUES (2, 2)\nUPDATE t SET a = 9 WHERE id = 1")
    # Committed meanwhile, yet invisible: the version, the table and the changes agree.
    assert scalar(tracked, CURRENT) == 1
    assert query(tracked, "SELECT id, a FROM t")[1] == [(1, 1)]
    _, rows = query(
        tracked,
        "SELECT c.id, c.SYS_CHANGE_VERSION, t.a FROM CHANGETABLE(CHANGES t, 0) AS c "
        "LEFT JOIN t ON t.id = c.id",
    )
    assert rows == [(1, 1, 1)]
    run(tracked, "COMMIT")
    assert scalar(tracked, CURRENT) == 3
    assert query(tracked, "SELECT id, a FROM t ORDER BY id")[1] == [(1, 9), (2, 2)]
