"""datetimeoffset values in expressions through every driver: DATEADD moves the local time
and keeps the offset; CAST and CONVERT to date, time, datetime, smalldatetime and
datetime2 take the local date and time, as SQL Server does."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

MINUS_5 = dt.timezone(dt.timedelta(hours=-5))
STORED = "2020-01-31 23:30:00.123 -05:00"


@pytest.fixture
def table(driver_cursor: Any) -> str:
    name = f"dto_{uuid.uuid4().hex[:8]}"
    driver_cursor.execute(f"CREATE TABLE {name} (id int, e datetimeoffset(3))")
    driver_cursor.execute(f"INSERT INTO {name} VALUES (1, '{STORED}'), (2, NULL)")
    return name


def _one(driver_cursor: Any, sql: str) -> Any:
    driver_cursor.execute(sql)
    rows = driver_cursor.fetchall()
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
    driver_cursor: Any, table: str, unit: str, number: int, expected: dt.datetime
) -> None:
    got = _one(driver_cursor, f"SELECT DATEADD({unit}, {number}, e) FROM {table} WHERE id = 1")
    assert _same(got, expected), got


def test_dateadd_of_null_is_null(driver_cursor: Any, table: str) -> None:
    assert _one(driver_cursor, f"SELECT DATEADD(day, 1, e) FROM {table} WHERE id = 2") is None


def test_dateadd_results_compare_and_sort_by_instant(driver_cursor: Any, table: str) -> None:
    driver_cursor.execute(f"INSERT INTO {table} VALUES (3, '2020-02-01 04:00:00 +00:00')")
    # id 1 is 04:30 UTC on 2020-02-01, so one minute back is still after id 3.
    driver_cursor.execute(
        f"SELECT id FROM {table} WHERE DATEADD(minute, -1, e) > '2020-02-01 04:00:00 +00:00'"
    )
    assert [r[0] for r in driver_cursor.fetchall()] == [1]
    driver_cursor.execute(
        f"SELECT id FROM {table} WHERE e IS NOT NULL ORDER BY DATEADD(hour, 1, e)"
    )
    assert [r[0] for r in driver_cursor.fetchall()] == [3, 1]


def test_dateadd_on_a_converted_literal(driver_cursor: Any) -> None:
    got = _one(driver_cursor, f"SELECT DATEADD(day, 1, CAST('{STORED}' AS datetimeoffset(3)))")
    assert _same(got, dt.datetime(2020, 2, 1, 23, 30, 0, 123000, MINUS_5)), got


def test_dateadd_result_converts_to_text_with_its_offset(driver_cursor: Any, table: str) -> None:
    text = _one(
        driver_cursor, f"SELECT CAST(DATEADD(hour, -2, e) AS varchar(40)) FROM {table} WHERE id = 1"
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
    driver_cursor: Any, table: str, form: str, target: str, expected: Any
) -> None:
    expr = form.format(t=target)
    assert _one(driver_cursor, f"SELECT {expr} FROM {table} WHERE id = 1") == expected, expr


def test_datename_of_milliseconds(driver_cursor: Any, table: str) -> None:
    assert _one(driver_cursor, f"SELECT DATENAME(ms, e) FROM {table} WHERE id = 1") == "123"
