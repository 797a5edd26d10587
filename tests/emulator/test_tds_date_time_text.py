"""A time, datetime2 or datetimeoffset column converted to text shows exactly as many
fractional digits as its scale, as SQL Server writes it, through every driver."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

# (column type, stored literal, SQL Server's text of the stored value)
CASES = [
    ("datetime2(0)", "2020-01-01 10:00:00.4", "2020-01-01 10:00:00"),
    ("datetime2(1)", "2020-01-01 10:00:00", "2020-01-01 10:00:00.0"),
    ("datetime2(3)", "2020-01-01 10:00:00.5", "2020-01-01 10:00:00.500"),
    ("datetime2(6)", "2020-01-01 10:00:00.12", "2020-01-01 10:00:00.120000"),
    ("datetime2", "2020-01-01", "2020-01-01 00:00:00.0000000"),
    ("time(0)", "10:00:00.7", "10:00:01"),
    ("time(3)", "10:00:00.5", "10:00:00.500"),
    ("time", "10:00:00", "10:00:00.0000000"),
    ("datetimeoffset(0)", "2020-01-01 10:00:00 -08:00", "2020-01-01 10:00:00 -08:00"),
    ("datetimeoffset(2)", "2020-01-01 10:00:00.5 +01:00", "2020-01-01 10:00:00.50 +01:00"),
    ("datetimeoffset", "2020-01-01 10:00:00.5 +01:00", "2020-01-01 10:00:00.5000000 +01:00"),
    ("date", "2020-01-01", "2020-01-01"),
]
_names = itertools.count()


@pytest.mark.parametrize(("column", "stored", "text"), CASES, ids=[c[0] for c in CASES])
def test_column_text_has_the_scales_digits(
    driver_cursor: Any, column: str, stored: str, text: str
) -> None:
    table = f"text_{next(_names)}"
    driver_cursor.execute(f"CREATE TABLE {table} (v {column})")
    driver_cursor.execute(f"INSERT INTO {table} VALUES ('{stored}'), (NULL)")
    driver_cursor.execute(
        f"SELECT CAST(v AS varchar(40)), CONVERT(nvarchar(40), v) FROM {table} ORDER BY v DESC"
    )
    assert [tuple(row) for row in driver_cursor.fetchall()] == [(text, text), (None, None)]


@pytest.mark.parametrize(("declared", "stored", "text"), CASES, ids=[c[0] for c in CASES])
def test_variable_text_has_the_scales_digits(
    driver_cursor: Any, declared: str, stored: str, text: str
) -> None:
    driver_cursor.execute(f"DECLARE @v {declared} = '{stored}'; SELECT CAST(@v AS varchar(40))")
    assert driver_cursor.fetchall()[0][0] == text
