"""Each real driver: connect, query, parameters, transactions, login errors."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from drivers import DRIVERS, Driver

from mssql_emulator.testing import RunningEmulator


@pytest.fixture(params=DRIVERS, ids=lambda d: d.name)
def driver(request: pytest.FixtureRequest) -> Driver:
    result: Driver = request.param
    return result


def _table(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def test_connect_and_query(emulator: RunningEmulator, driver: Driver) -> None:
    conn = driver.connect(emulator)
    try:
        cur = conn.cursor()
        cur.execute("SELECT 1 AS one, N'héllo' AS greeting")
        assert [tuple(r) for r in cur.fetchall()] == [(1, "héllo")]
    finally:
        conn.close()


def test_version_banner(emulator: RunningEmulator, driver: Driver) -> None:
    conn = driver.connect(emulator)
    try:
        cur = conn.cursor()
        cur.execute("SELECT @@VERSION")
        (version,) = cur.fetchone()
        assert version.startswith("Microsoft SQL Server 2022")
    finally:
        conn.close()


def test_parameterized_statements(emulator: RunningEmulator, driver: Driver) -> None:
    table = _table("params")
    conn = driver.connect(emulator)
    try:
        cur = conn.cursor()
        cur.execute(f"CREATE TABLE {table} (id int NOT NULL PRIMARY KEY, name nvarchar(50))")
        for ident, name in [(1, "one"), (2, "twö"), (3, None)]:
            cur.execute(driver.sql(f"INSERT INTO {table} (id, name) VALUES (?, ?)"), (ident, name))
        conn.commit()
        cur.execute(driver.sql(f"SELECT id, name FROM {table} WHERE id >= ? ORDER BY id"), (2,))
        assert [tuple(r) for r in cur.fetchall()] == [(2, "twö"), (3, None)]
        cur.execute(driver.sql(f"SELECT COUNT(*) FROM {table} WHERE name = ?"), ("one",))
        assert cur.fetchone()[0] == 1
    finally:
        conn.close()


def test_transactions_commit_and_rollback(emulator: RunningEmulator, driver: Driver) -> None:
    table = _table("tx")
    conn = driver.connect(emulator)
    other = driver.connect(emulator)
    try:
        cur = conn.cursor()
        cur.execute(f"CREATE TABLE {table} (id int NOT NULL)")
        conn.commit()
        cur.execute(f"INSERT INTO {table} VALUES (1)")
        conn.rollback()
        cur.execute(f"SELECT COUNT(*) FROM {table}")
        assert cur.fetchone()[0] == 0
        cur.execute(f"INSERT INTO {table} VALUES (2)")
        conn.commit()
        ocur = other.cursor()
        ocur.execute(f"SELECT id FROM {table}")
        assert [tuple(r) for r in ocur.fetchall()] == [(2,)]
    finally:
        conn.close()
        other.close()


def test_sql_error_keeps_the_session_usable(emulator: RunningEmulator, driver: Driver) -> None:
    conn = driver.connect(emulator)
    try:
        cur = conn.cursor()
        with pytest.raises(Exception) as info:
            cur.execute("SELECT * FROM no_such_table_xyz")
        assert "no_such_table_xyz" in str(info.value)
        cur.execute("SELECT 42")
        assert cur.fetchone()[0] == 42
    finally:
        conn.close()


def _login_error(driver: Driver, emu: RunningEmulator, **kwargs: Any) -> str:
    with pytest.raises(Exception) as info:
        driver.connect(emu, **kwargs).close()
    return f"{info.value!r} {info.value}"


def test_wrong_password_is_18456(emulator: RunningEmulator, driver: Driver) -> None:
    text = _login_error(driver, emulator, password="not-the-password")
    assert "18456" in text or "Login failed for user 'sa'" in text


def test_unknown_database_is_4060(emulator: RunningEmulator, driver: Driver) -> None:
    text = _login_error(driver, emulator, database="nosuchdb")
    if driver.name in ("pytds", "pyodbc-msodbc18"):
        assert 'Cannot open database "nosuchdb" requested by the login' in text
    else:
        # SQL Server sends 4060 then 18456; DB-Library and FreeTDS's ODBC driver surface only
        # the login failure (test_tds_protocol checks that 4060 is on the wire).
        assert "18456" in text or "Login failed for user 'sa'" in text
