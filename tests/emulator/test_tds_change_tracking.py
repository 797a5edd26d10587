"""Change Tracking through the real drivers: transactions, parameters, snapshots, cleanup."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from drivers import DRIVERS, Driver

from mssql_emulator.testing import RunningEmulator

VERSION = "SELECT CHANGE_TRACKING_CURRENT_VERSION()"


def _autocommit(emulator: RunningEmulator) -> Any:
    import mssql_python

    return mssql_python.connect(emulator.odbc_connection_string(), autocommit=True, timeout=10)


def _run(conn: Any, sql: str) -> None:
    """Run a batch and read all its results, so the connection is free again."""
    cur = conn.cursor()
    cur.execute(sql)
    while cur.nextset():
        pass
    cur.close()


def _scalar(conn: Any, sql: str, *params: Any) -> Any:
    cur = conn.cursor()
    cur.execute(sql, params) if params else cur.execute(sql)
    row = cur.fetchone()
    cur.close()
    return row[0]


@pytest.fixture(scope="module")
def admin(emulator: RunningEmulator) -> Iterator[Any]:
    """An autocommit connection of the module's server, with tracking and snapshots on."""
    conn = _autocommit(emulator)
    cur = conn.cursor()
    cur.execute(
        "ALTER DATABASE testdb SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 1 DAYS, "
        "AUTO_CLEANUP = OFF)"
    )
    cur.execute("ALTER DATABASE testdb SET ALLOW_SNAPSHOT_ISOLATION ON")
    yield conn
    conn.close()


def _tracked_table(admin: Any) -> str:
    table = f"ct_{uuid.uuid4().hex[:8]}"
    cur = admin.cursor()
    cur.execute(f"CREATE TABLE dbo.{table} (id INT NOT NULL PRIMARY KEY, name NVARCHAR(20))")
    cur.execute(f"ALTER TABLE dbo.{table} ENABLE CHANGE_TRACKING")
    return table


@pytest.fixture(params=DRIVERS, ids=lambda d: d.name)
def driver(request: pytest.FixtureRequest) -> Driver:
    result: Driver = request.param
    return result


def test_committed_transactions_get_one_version_each(
    emulator: RunningEmulator, admin: Any, driver: Driver
) -> None:
    table = _tracked_table(admin)
    start = _scalar(admin, VERSION)
    conn = driver.connect(emulator)  # autocommit off: the driver's own transactions
    try:
        cur = conn.cursor()
        insert = driver.sql(f"INSERT INTO dbo.{table} (id, name) VALUES (?, ?)")
        cur.execute(insert, (1, "one"))
        cur.execute(insert, (2, "two"))
        conn.commit()
        cur.execute(driver.sql(f"UPDATE dbo.{table} SET name = ? WHERE id = ?"), ("uno", 1))
        cur.execute(insert, (3, "three"))
        cur.execute(driver.sql(f"DELETE FROM dbo.{table} WHERE id = ?"), (2,))
        conn.commit()
        cur.execute(insert, (4, "four"))
        conn.rollback()
        assert _scalar(admin, VERSION) == start + 2
        query = driver.sql(
            f"SELECT ct.id, ct.SYS_CHANGE_OPERATION, ct.SYS_CHANGE_VERSION, t.name "
            f"FROM CHANGETABLE(CHANGES dbo.{table}, ?) AS ct "
            f"LEFT OUTER JOIN dbo.{table} AS t ON t.id = ct.id ORDER BY ct.id"
        )
        cur.execute(query, (start,))
        assert [tuple(r) for r in cur.fetchall()] == [
            (1, "I", start + 2, "uno"),
            (2, "D", start + 2, None),
            (3, "I", start + 2, "three"),
        ]
        cur.execute(query, (start + 1,))
        assert [tuple(r) for r in cur.fetchall()] == [
            (1, "U", start + 2, "uno"),
            (2, "D", start + 2, None),
            (3, "I", start + 2, "three"),
        ]
        conn.commit()
    finally:
        conn.close()


def test_explicit_transactions_in_batches(emulator: RunningEmulator, admin: Any) -> None:
    table = _tracked_table(admin)
    start = _scalar(admin, VERSION)
    conn = _autocommit(emulator)
    try:
        _run(conn, f"BEGIN TRAN; INSERT INTO dbo.{table} VALUES (1, N'a'); ROLLBACK TRAN")
        assert _scalar(conn, VERSION) == start
        _run(
            conn,
            f"BEGIN TRANSACTION\nINSERT INTO dbo.{table} VALUES (1, N'a')\n"
            f"INSERT INTO dbo.{table} VALUES (2, N'b')\nCOMMIT TRANSACTION",
        )
        _run(conn, f"INSERT INTO dbo.{table} VALUES (3, N'c')")  # autocommit: a version
        _run(conn, f"DELETE FROM dbo.{table} WHERE id = 3")
        assert _scalar(conn, VERSION) == start + 3
        cur = conn.cursor()
        cur.execute(
            f"SELECT id, SYS_CHANGE_OPERATION, SYS_CHANGE_VERSION, SYS_CHANGE_CREATION_VERSION "
            f"FROM CHANGETABLE(CHANGES dbo.{table}, {start}) AS c ORDER BY id"
        )
        assert [tuple(r) for r in cur.fetchall()] == [
            (1, "I", start + 1, start + 1),
            (2, "I", start + 1, start + 1),
            (3, "D", start + 3, start + 2),
        ]
    finally:
        conn.close()


def test_snapshot_reads_agree_with_their_version(emulator: RunningEmulator, admin: Any) -> None:
    """The documented sync: validate, read the next version and the changes in one snapshot."""
    table = _tracked_table(admin)
    cur = admin.cursor()
    cur.execute(f"INSERT INTO dbo.{table} VALUES (1, N'a'), (2, N'b')")
    last_sync = _scalar(admin, VERSION) - 1
    reader = _autocommit(emulator)
    try:
        rcur = reader.cursor()
        rcur.execute("SET TRANSACTION ISOLATION LEVEL SNAPSHOT")
        rcur.execute("BEGIN TRAN")
        valid = _scalar(
            reader, f"SELECT CHANGE_TRACKING_MIN_VALID_VERSION(OBJECT_ID('dbo.{table}'))"
        )
        assert last_sync >= valid
        next_sync = _scalar(reader, VERSION)
        cur.execute(f"UPDATE dbo.{table} SET name = N'x' WHERE id = 1")  # committed meanwhile
        cur.execute(f"INSERT INTO dbo.{table} VALUES (3, N'c')")
        assert _scalar(reader, VERSION) == next_sync
        rcur.execute(
            f"SELECT ct.id, ct.SYS_CHANGE_VERSION, t.name FROM CHANGETABLE(CHANGES dbo.{table}, ?) "
            f"AS ct LEFT OUTER JOIN dbo.{table} AS t ON t.id = ct.id ORDER BY ct.id",
            (last_sync,),
        )
        assert [tuple(r) for r in rcur.fetchall()] == [(1, next_sync, "a"), (2, next_sync, "b")]
        rcur.execute("COMMIT TRAN")
        assert _scalar(reader, VERSION) == next_sync + 2
    finally:
        reader.close()


def test_version_of_one_row_and_cleanup_with_parameters(
    emulator: RunningEmulator, admin: Any
) -> None:
    import pyodbc

    table = _tracked_table(admin)
    cur = admin.cursor()
    cur.execute(f"INSERT INTO dbo.{table} VALUES (1, N'a'), (2, N'b')")
    cur.execute(f"UPDATE dbo.{table} SET name = N'c' WHERE id = 2")
    updated = _scalar(admin, VERSION)
    conn = pyodbc.connect(
        f"DRIVER={{FreeTDS}};SERVER={emulator.host};PORT={emulator.port};"
        f"DATABASE={emulator.database};UID={emulator.user};PWD={emulator.password};"
        "TDS_Version=7.4;ClientCharset=UTF-8",
        autocommit=True,
        timeout=10,
    )
    try:
        pcur = conn.cursor()
        pcur.execute(
            f"SELECT v.id, v.SYS_CHANGE_VERSION FROM CHANGETABLE(VERSION dbo.{table}, (id), (?)) "
            "AS v",
            2,
        )
        assert [tuple(r) for r in pcur.fetchall()] == [(2, updated)]
        pcur.execute(
            "EXEC sys.sp_flowservice_change_tracking_cleanup @table_name = ?, @up_to_version = ?",
            f"dbo.{table}",
            updated - 1,
        )
        assert [tuple(r) for r in pcur.fetchall()] == [(f"dbo.{table}", updated - 1, 2)]
        pcur.execute(f"SELECT CHANGE_TRACKING_MIN_VALID_VERSION(OBJECT_ID('dbo.{table}'))")
        assert pcur.fetchone()[0] == updated - 1
        pcur.execute(
            f"SELECT id, SYS_CHANGE_OPERATION FROM CHANGETABLE(CHANGES dbo.{table}, ?) AS c",
            updated - 1,
        )
        assert [tuple(r) for r in pcur.fetchall()] == [(2, "U")]
    finally:
        conn.close()


def test_errors_carry_sql_servers_numbers(emulator: RunningEmulator, admin: Any) -> None:
    import pytds

    cur = admin.cursor()
    table = f"nokey_{uuid.uuid4().hex[:8]}"
    cur.execute(f"CREATE TABLE dbo.{table} (a INT)")
    conn = pytds.connect(
        emulator.host,
        port=emulator.port,
        user=emulator.user,
        password=emulator.password,
        database=emulator.database,
        login_timeout=10,
        autocommit=True,
    )
    try:
        pcur = conn.cursor()
        for sql, number in [
            (f"ALTER TABLE dbo.{table} ENABLE CHANGE_TRACKING", 4997),
            (f"SELECT * FROM CHANGETABLE(CHANGES dbo.{table}, 0) AS c", 22105),
            ("ALTER DATABASE testdb SET CHANGE_TRACKING = ON", 5088),
        ]:
            with pytest.raises(pytds.Error) as err:
                pcur.execute(sql)
            assert getattr(err.value, "number", None) == number, sql
        conn.autocommit = False
        with pytest.raises(pytds.Error) as err:
            pcur.execute("ALTER DATABASE testdb SET CHANGE_TRACKING (AUTO_CLEANUP = ON)")
        assert getattr(err.value, "number", None) == 226
    finally:
        conn.close()
