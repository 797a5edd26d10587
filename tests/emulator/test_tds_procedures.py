"""EXEC of stored procedures in batches: return status, sp_getapplock/sp_releaseapplock, 2812."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
from drivers import DRIVERS, Driver

from mssql_emulator.testing import RunningEmulator


@pytest.fixture(params=DRIVERS, ids=lambda d: d.name)
def driver(request: pytest.FixtureRequest) -> Driver:
    result: Driver = request.param
    return result


def _resource() -> str:
    return f"res_{uuid.uuid4().hex[:8]}"


def _autocommit(emulator: RunningEmulator) -> Any:
    import mssql_python

    return mssql_python.connect(emulator.odbc_connection_string(), autocommit=True, timeout=10)


def _pytds(emulator: RunningEmulator) -> Any:
    import pytds

    return pytds.connect(
        emulator.host,
        port=emulator.port,
        user=emulator.user,
        password=emulator.password,
        database=emulator.database,
        login_timeout=10,
        autocommit=True,
    )


def _scalar(conn: Any, sql: str) -> Any:
    cur = conn.cursor()
    cur.execute(sql)
    row = cur.fetchone()
    cur.close()
    return row[0]


def _get(resource: str, mode: str = "Exclusive", owner: str = "Session", timeout: int = 0) -> str:
    return (
        "DECLARE @result int;\n"
        f"EXEC @result = sp_getapplock @Resource = N'{resource}', @LockMode = '{mode}',\n"
        f"    @LockOwner = '{owner}', @LockTimeout = {timeout};\n"
        "SELECT @result AS result;"
    )


def _release(resource: str, owner: str = "Session") -> str:
    return (
        "DECLARE @result int; EXEC @result = sp_releaseapplock "
        f"@Resource = N'{resource}', @LockOwner = '{owner}'; SELECT @result"
    )


def test_exec_return_status_goes_into_the_variable(
    emulator: RunningEmulator, driver: Driver
) -> None:
    resource = _resource()
    conn = driver.connect(emulator)
    try:
        assert _scalar(conn, _get(resource)) == 0
        # A session may take its own lock again; each grant is released once.
        assert _scalar(conn, _get(resource)) == 0
        assert _scalar(conn, _release(resource)) == 0
        assert _scalar(conn, _release(resource)) == 0
        # Positional arguments, EXECUTE spelled out, schema-qualified name.
        assert (
            _scalar(
                conn,
                f"DECLARE @rc int; EXECUTE @rc = sys.sp_getapplock '{resource}', 'Shared', "
                "'Session', 0; SELECT @rc",
            )
            == 0
        )
        assert _scalar(conn, _release(resource)) == 0
    finally:
        conn.close()


def test_unknown_procedure_is_2812(emulator: RunningEmulator, driver: Driver) -> None:
    conn = driver.connect(emulator)
    try:
        for sql in ("EXEC dbo.nope", "DECLARE @rc int; EXEC @rc = [dbo].[nope] 1, N'x'"):
            cur = conn.cursor()
            with pytest.raises(Exception) as err:
                cur.execute(sql)
                while cur.nextset():
                    pass
            text = str(err.value)
            assert "Could not find stored procedure 'dbo.nope'." in text, text
            assert "duckdb" not in text.lower() and "Incorrect syntax" not in text
            number = getattr(err.value, "number", None)
            if number is None and driver.name == "pymssql":
                number = err.value.args[0]
            assert number in (None, 2812)
    finally:
        conn.close()


def test_error_2812_carries_state_and_severity(emulator: RunningEmulator) -> None:
    import pytds

    conn = _pytds(emulator)
    try:
        with pytest.raises(pytds.Error) as err:
            conn.cursor().execute("EXEC dbo.nope")
        assert (err.value.number, err.value.state, err.value.severity) == (2812, 62, 16)
    finally:
        conn.close()


def test_incompatible_lock_times_out_then_waits_for_release(emulator: RunningEmulator) -> None:
    resource = _resource()
    holder, other = _autocommit(emulator), _pytds(emulator)
    try:
        assert _scalar(holder, _get(resource)) == 0
        started = time.monotonic()
        assert _scalar(other, _get(resource, timeout=300)) == -1
        assert time.monotonic() - started >= 0.25
        assert _scalar(other, _get(resource, mode="Shared", timeout=0)) == -1

        # A waiting request is granted once the holder releases, and reports 1.
        timer = threading.Timer(0.3, lambda: _scalar(holder, _release(resource)))
        timer.start()
        started = time.monotonic()
        assert _scalar(other, _get(resource, timeout=10000)) == 1
        assert 0.2 <= time.monotonic() - started < 5
        timer.join()
        assert _scalar(holder, _get(resource, timeout=0)) == -1
        assert _scalar(other, _release(resource)) == 0
        assert _scalar(holder, _get(resource, timeout=0)) == 0
    finally:
        holder.close()
        other.close()


def test_lock_modes_follow_the_compatibility_matrix(emulator: RunningEmulator) -> None:
    a, b = _autocommit(emulator), _pytds(emulator)
    try:
        for held, asked, granted in [
            ("Shared", "Shared", True),
            ("Shared", "Update", True),
            ("Update", "Update", False),
            ("IntentShared", "IntentExclusive", True),
            ("IntentExclusive", "Shared", False),
            ("Shared", "Exclusive", False),
        ]:
            resource = _resource()
            assert _scalar(a, _get(resource, mode=held)) == 0
            assert _scalar(b, _get(resource, mode=asked)) == (0 if granted else -1), (held, asked)
    finally:
        a.close()
        b.close()


def test_session_locks_go_with_the_session(emulator: RunningEmulator) -> None:
    resource = _resource()
    holder, other = _pytds(emulator), _autocommit(emulator)
    try:
        assert _scalar(holder, _get(resource)) == 0
        assert _scalar(other, _get(resource)) == -1
        holder.close()
        assert _scalar(other, _get(resource, timeout=5000)) in (0, 1)
    finally:
        other.close()


def test_transaction_locks_end_with_the_transaction(emulator: RunningEmulator) -> None:
    resource = _resource()
    holder, other = _pytds(emulator), _autocommit(emulator)
    try:
        # Outside a transaction a transaction-owned lock fails with -999 (message 15626).
        assert _scalar(holder, _get(resource, owner="Transaction")) == -999
        for end in ("COMMIT", "ROLLBACK"):
            holder.cursor().execute("BEGIN TRAN")
            assert _scalar(holder, _get(resource, owner="Transaction")) == 0
            assert _scalar(other, _get(resource)) == -1
            holder.cursor().execute(end)
            assert _scalar(other, _get(resource)) == 0
            assert _scalar(other, _release(resource)) == 0
    finally:
        holder.close()
        other.close()


def test_releasing_a_lock_not_held_is_1223(emulator: RunningEmulator) -> None:
    import pytds

    resource = _resource()
    holder, other = _autocommit(emulator), _pytds(emulator)
    try:
        assert _scalar(holder, _get(resource)) == 0
        with pytest.raises(pytds.Error) as err:
            other.cursor().execute(
                f"EXEC sp_releaseapplock @Resource = N'{resource}', @LockOwner = 'Session'"
            )
        assert err.value.number == 1223
        assert err.value.message.endswith(
            "Cannot release the application lock (Database Principal: 'public', "
            f"Resource: '{resource}') because it is not currently held."
        )
        assert _scalar(holder, _release(resource)) == 0
    finally:
        holder.close()
        other.close()


def test_rpc_call_reports_the_return_status(emulator: RunningEmulator) -> None:
    resource = _resource()
    holder, other = _autocommit(emulator), _pytds(emulator)
    try:
        assert _scalar(holder, _get(resource)) == 0
        cur = other.cursor()
        args = {
            "@Resource": resource,
            "@LockMode": "Exclusive",
            "@LockOwner": "Session",
            "@LockTimeout": 0,
        }
        cur.callproc("sp_getapplock", args)
        assert cur.get_proc_return_status() == -1
        assert _scalar(holder, _release(resource)) == 0
        cur.callproc("sp_getapplock", args)
        assert cur.get_proc_return_status() == 0
    finally:
        holder.close()
        other.close()
