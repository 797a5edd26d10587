"""DEFAULTs of date and time columns are stored as an INSERT would store the value:
datetime2(7) and datetimeoffset keep ticks, so their defaults are converted, in CREATE
TABLE, ALTER TABLE ADD and a temporal table's period columns."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest

_names = itertools.count()

# (column definition, SQL Server's text of the default it stores)
FIXED = [
    ("datetime2 DEFAULT '9999-12-31 23:59:59.9999999'", "9999-12-31 23:59:59.9999999"),
    ("datetime2(3) DEFAULT '2020-01-01 10:00:00.1235'", "2020-01-01 10:00:00.124"),
    (
        "datetimeoffset DEFAULT '2020-01-01 10:00:00.1234567 +01:00'",
        "2020-01-01 10:00:00.1234567 +01:00",
    ),
    ("time DEFAULT '10:00:00.1234567'", "10:00:00.1234567"),
    ("date DEFAULT '20200102'", "2020-01-02"),
]
NOW = [
    "datetime2 NOT NULL DEFAULT SYSUTCDATETIME()",
    "datetime2 DEFAULT SYSDATETIME()",
    "datetime2(0) DEFAULT GETDATE()",
    "datetimeoffset DEFAULT SYSDATETIMEOFFSET()",
]


@pytest.mark.parametrize(("column", "text"), FIXED, ids=[f[0].split()[0] for f in FIXED])
def test_a_constant_default_is_stored_exactly(driver_cursor: Any, column: str, text: str) -> None:
    table = f"defaults_{next(_names)}"
    driver_cursor.execute(f"CREATE TABLE {table} (k int, v {column})")
    driver_cursor.execute(f"INSERT INTO {table} (k) VALUES (1)")
    driver_cursor.execute(f"SELECT CAST(v AS varchar(40)) FROM {table}")
    assert driver_cursor.fetchall()[0][0] == text


@pytest.mark.parametrize("column", NOW)
def test_a_clock_default_is_now(driver_cursor: Any, column: str) -> None:
    table = f"defaults_{next(_names)}"
    driver_cursor.execute(f"CREATE TABLE {table} (k int, v {column})")
    driver_cursor.execute(f"INSERT INTO {table} (k) VALUES (1)")
    # Seconds since the default was taken, by the server's clock (the machine's).
    driver_cursor.execute(
        f"SELECT DATEDIFF(second, CAST(v AS datetime2(0)), SYSDATETIME()), "
        f"DATEDIFF(second, CAST(v AS datetime2(0)), SYSUTCDATETIME()) FROM {table}"
    )
    local, utc = driver_cursor.fetchall()[0]
    assert min(abs(local), abs(utc)) <= 5


def test_alter_table_add_with_a_default_fills_existing_rows(driver_cursor: Any) -> None:
    table = f"defaults_{next(_names)}"
    driver_cursor.execute(f"CREATE TABLE {table} (k int)")
    driver_cursor.execute(f"INSERT INTO {table} VALUES (1)")
    driver_cursor.execute(
        f"ALTER TABLE {table} ADD v datetime2 NOT NULL DEFAULT '2020-01-01 00:00:00.0000001'"
    )
    driver_cursor.execute(f"INSERT INTO {table} (k) VALUES (2)")
    driver_cursor.execute(f"SELECT k, CAST(v AS varchar(40)) FROM {table} ORDER BY k")
    assert [tuple(r) for r in driver_cursor.fetchall()] == [
        (1, "2020-01-01 00:00:00.0000001"),
        (2, "2020-01-01 00:00:00.0000001"),
    ]


def test_a_temporal_tables_period_columns_are_filled(driver_cursor: Any) -> None:
    # The shape of pymssql's own test_695: an INSERT naming neither period column.
    table = f"temporal_{next(_names)}"
    driver_cursor.execute(
        f"CREATE TABLE dbo.{table} (valid_from DATETIME2 GENERATED ALWAYS AS ROW START NOT NULL,"
        " valid_to DATETIME2 GENERATED ALWAYS AS ROW END NOT NULL,"
        " PERIOD FOR SYSTEM_TIME (valid_from, valid_to),"
        " id INTEGER NOT NULL IDENTITY(1,1) PRIMARY KEY, test VARCHAR(255) NOT NULL)"
    )
    driver_cursor.execute(f"INSERT INTO dbo.{table} (test) VALUES ('TEST')")
    driver_cursor.execute(
        f"SELECT id, test, CAST(valid_to AS varchar(40)), "
        f"DATEDIFF(second, valid_from, SYSUTCDATETIME()) FROM dbo.{table}"
    )
    row = tuple(driver_cursor.fetchall()[0])
    assert row[:3] == (1, "TEST", "9999-12-31 23:59:59.9999999")
    assert abs(row[3]) <= 5
    driver_cursor.execute(f"SELECT valid_from FROM dbo.{table}")
    assert isinstance(driver_cursor.fetchall()[0][0], dt.datetime)
