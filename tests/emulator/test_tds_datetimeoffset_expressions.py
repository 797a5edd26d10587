"""datetimeoffset values in expressions through every driver: DATEADD moves the local time
and keeps the offset; CAST and CONVERT to date, time, datetime, smalldatetime and
datetime2 take the local date and time, as SQL Server does."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from drivers import DRIVERS, Driver

from mssql_emulator.testing import RunningEmulator

MINUS_5 = dt.timezone(dt.timedelta(hours=-5))
STORED = "2020-01-31 23:30:00.123 -05:00"


@pytest.fixture(params=DRIVERS, ids=lambda d: d.name)
def cursor(request: pytest.FixtureRequest, emulator: RunningEmulator) -> Iterator[Any]:
    driver: Driver = request.param
    conn = driver.connect(emulator)
    try:
        yield conn.cursor()
    finally:
        conn.close()


@pytest.fixture
def table(cursor: Any) -> str:
    name = f"dto_{uuid.uuid4().hex[:8]}"
    cursor.execute(f"CREATE TABLE {name} (id int, e datetimeoffset(3))")
    cursor.execute(f"INSERT INTO {name} VALUES (1, '{STORED}'), (2, NULL)")
    return name


def _one(cursor: Any, sql: str) -> Any:
    cursor.execute(sql)
    rows = cursor.fetchall()
    assert len(rows) == 1, sql
    return rows[0][0]


def _same(got: Any, expected: dt.datetime) -> bool:
    """The same instant and the same offset (drivers use their own tzinfo classes)."""
    return bool(got == expected and got.utcoffset() == expected.utcoffset())


DATEADDS = [
    ("day", 1, dt.datetime(2020, 2, 1, 23, 30, 0, 123000, MINUS_5)),
    ("month", 1, dt.datetime(2020, 2, 29, 23, 30, 0, 123000, MINUS_5)),  # end of month
    ("hour", -24, dt.datetime(2020, 1, 30, 23, 30, 0, 123000, MINUS_5)),
    ("ms", 877, dt.datetime(2020, 1, 31, 23, 30, 1, 0, MINUS_5)),
    ("year", -1, dt.datetime(2019, 1, 31, 23, 30, 0, 123000, MINUS_5)),
]


@pytest.mark.parametrize(("unit", "number", "expected"), DATEADDS, ids=[d[0] for d in DATEADDS])
def test_dateadd_moves_the_local_time_and_keeps_the_offset(
    cursor: Any, table: str, unit: str, number: int, expected: dt.datetime
) -> None:
    got = _one(cursor, f"SELECT DATEADD({unit}, {number}, e) FROM {table} WHERE id = 1")
    assert _same(got, expected), got


def test_dateadd_of_null_is_null(cursor: Any, table: str) -> None:
    assert _one(cursor, f"SELECT DATEADD(day, 1, e) FROM {table} WHERE id = 2") is None


def test_dateadd_results_compare_and_sort_by_instant(cursor: Any, table: str) -> None:
    cursor.execute(f"INSERT INTO {table} VALUES (3, '2020-02-01 04:00:00 +00:00')")
    # id 1 is 04:30 UTC on 2020-02-01, so one minute back is still after id 3.
    cursor.execute(
        f"SELECT id FROM {table} WHERE DATEADD(minute, -1, e) > '2020-02-01 04:00:00 +00:00'"
    )
    assert [r[0] for r in cursor.fetchall()] == [1]
    cursor.execute(f"SELECT id FROM {table} WHERE e IS NOT NULL ORDER BY DATEADD(hour, 1, e)")
    assert [r[0] for r in cursor.fetchall()] == [3, 1]


def test_dateadd_on_a_converted_literal(cursor: Any) -> None:
    got = _one(cursor, f"SELECT DATEADD(day, 1, CAST('{STORED}' AS datetimeoffset(3)))")
    assert _same(got, dt.datetime(2020, 2, 1, 23, 30, 0, 123000, MINUS_5)), got


def test_dateadd_result_converts_to_text_with_its_offset(cursor: Any, table: str) -> None:
    text = _one(
        cursor, f"SELECT CAST(DATEADD(hour, -2, e) AS varchar(40)) FROM {table} WHERE id = 1"
    )
    assert text.startswith("2020-01-31 21:30:00.123") and text.endswith(" -05:00"), text


CONVERSIONS = [
    ("date", dt.date(2020, 1, 31)),
    ("time(3)", dt.time(23, 30, 0, 123000)),
    ("datetime2(3)", dt.datetime(2020, 1, 31, 23, 30, 0, 123000)),
    ("datetime", dt.datetime(2020, 1, 31, 23, 30, 0, 123000)),
    ("smalldatetime", dt.datetime(2020, 1, 31, 23, 30)),
]


@pytest.mark.parametrize(("target", "expected"), CONVERSIONS, ids=[c[0] for c in CONVERSIONS])
@pytest.mark.parametrize("form", ["CAST(e AS {t})", "CONVERT({t}, e)"])
def test_conversions_take_the_local_date_and_time(
    cursor: Any, table: str, form: str, target: str, expected: Any
) -> None:
    expr = form.format(t=target)
    assert _one(cursor, f"SELECT {expr} FROM {table} WHERE id = 1") == expected, expr


def test_datename_of_milliseconds(cursor: Any, table: str) -> None:
    assert _one(cursor, f"SELECT DATENAME(ms, e) FROM {table} WHERE id = 1") == "123"
