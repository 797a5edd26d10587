"""Databases, temporary tables, WAITFOR, transaction-dooming errors and built-ins via drivers."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import pymssql
import pytds
import pytest

from mssql_emulator.testing import RunningEmulator


def _pytds(emu: RunningEmulator, **options: object) -> pytds.Connection:
    settings: dict[str, object] = {"login_timeout": 10, "timeout": 30, "autocommit": True}
    settings.update(options)
    return pytds.connect(
        emu.host,
        port=emu.port,
        user=emu.user,
        password=emu.password,
        database=emu.database,
        **settings,
    )


def test_create_use_and_drop_database(emulator: RunningEmulator) -> None:
    name = f"db_{uuid.uuid4().hex[:8]}"
    with _pytds(emulator) as conn, conn.cursor() as cur:
        assert cur.execute_scalar("SELECT DB_ID(%s)", (name,)) is None
        cur.execute(f"CREATE DATABASE [{name}]")
        cur.execute(f"USE [{name}]")
        cur.execute("CREATE TABLE t (id int)")
        cur.execute("INSERT INTO t VALUES (7)")
        cur.execute(f"USE {emulator.database}")
        assert cur.execute_scalar(f"SELECT id FROM [{name}].dbo.t") == 7
        with pytest.raises(pytds.OperationalError) as info:
            cur.execute(f"CREATE DATABASE [{name}]")
        assert info.value.msg_no == 1801
        cur.execute(f"DROP DATABASE [{name}]")
        assert cur.execute_scalar("SELECT name FROM sys.databases WHERE database_id = 4") == "msdb"


def test_login_to_system_databases(emulator: RunningEmulator) -> None:
    for database in ("master", "model", "msdb", "tempdb"):
        conn = pymssql.connect(
            server=emulator.host,
            port=str(emulator.port),
            user=emulator.user,
            password=emulator.password,
            database=database,
            login_timeout=10,
        )
        try:
            cur = conn.cursor()
            cur.execute("SELECT DB_NAME()")
            assert cur.fetchone() == (database,)
        finally:
            conn.close()


def test_temp_tables_belong_to_their_connection(emulator: RunningEmulator) -> None:
    with _pytds(emulator) as first, _pytds(emulator) as second:
        one, two = first.cursor(), second.cursor()
        one.execute("CREATE TABLE #scratch (id int IDENTITY, v nvarchar(10))")
        one.execute("INSERT INTO #scratch (v) VALUES (N'a'), (N'b')")
        assert one.execute_scalar("SELECT COUNT(*) FROM tempdb..#scratch") == 2
        with pytest.raises(pytds.ProgrammingError) as info:
            two.execute("SELECT * FROM #scratch")
        assert info.value.msg_no == 208
        one.execute("DECLARE @t TABLE (v nvarchar(10)); INSERT INTO @t SELECT v FROM #scratch")
        assert one.rowcount == 2
    with (
        _pytds(emulator) as again,
        again.cursor() as cur,
        pytest.raises(pytds.ProgrammingError),
    ):
        cur.execute("SELECT * FROM #scratch")


def test_waitfor_is_cancelled_by_the_client_timeout(emulator: RunningEmulator) -> None:
    with _pytds(emulator, timeout=1) as conn, conn.cursor() as cur:
        started = time.monotonic()
        with pytest.raises(pytds.TimeoutError):
            cur.execute("WAITFOR DELAY '00:00:30'")
        assert time.monotonic() - started < 10
        assert cur.execute_scalar("SELECT 1") == 1


def test_error_that_dooms_the_transaction_rolls_it_back(emulator: RunningEmulator) -> None:
    table = f"doomed_{uuid.uuid4().hex[:8]}"
    with _pytds(emulator, autocommit=False) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {table} (x int)")
        with pytest.raises(pytds.OperationalError) as info:
            cur.execute(f"CREATE TABLE {table} (x int)")
        assert info.value.msg_no == 2714
        # The server rolled back (ENVCHANGE); the driver opened a new transaction.
        assert cur.execute_scalar("SELECT @@TRANCOUNT") == 1
        cur.execute(f"CREATE TABLE {table} (x int)")
        conn.commit()
        cur.execute(f"DROP TABLE {table}")
        conn.commit()


def test_builtin_functions_through_pymssql(emulator: RunningEmulator) -> None:
    conn = pymssql.connect(
        server=emulator.host,
        port=str(emulator.port),
        user=emulator.user,
        password=emulator.password,
        database=emulator.database,
        login_timeout=10,
    )
    try:
        cur = conn.cursor()
        cur.execute(
            "SELECT SYSDATETIMEOFFSET(), TYPE_NAME(56), TYPE_ID('nvarchar'), "
            "CAST('ab' AS binary(4)), CONVERT(varbinary(2), 0x010203)"
        )
        now, type_name, type_id, padded, cut = cur.fetchone()
        assert isinstance(now, dt.datetime)
        assert (type_name, type_id, padded, cut) == ("int", 231, b"ab\0\0", b"\x01\x02")
    finally:
        conn.close()
