"""datetime2(7), the default scale of datetime2, keeps its seventh fractional digit (100 ns
ticks) through literals, parameters, storage, comparisons, DATEADD, variables, bulk load and
the wire; lower scales round as SQL Server does and are otherwise unchanged.

Python's ``datetime`` stops at microseconds, so the digits are checked as the server's own
text (``CAST(d AS varchar(30))`` is ``'2020-01-02 03:04:05.1234567'``) and as the raw
DATETIME2N cells of the reply: a length byte, then for scale 7 five little-endian bytes of
100 ns since midnight and three of days since 0001-01-01.  Parameters with seven digits go
out as raw RPC requests (type 0x2A, scale 7, length 8), since no Python driver sends them.
"""

from __future__ import annotations

import datetime as dt
import itertools
import struct
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pymssql
import pytest
from drivers import DRIVERS, Driver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tds_client import (
    ALL_HEADERS,
    RawClient,
    batch,
    checked,
    error_numbers,
    executesql,
    in_order,
    int_row,
    nvarchar_cell,
    varchar_cell,
)

from mssql_emulator.contract import SqlType
from mssql_emulator.engine import DuckDBEngine
from mssql_emulator.tds.bulk_rows import decode_bulk
from mssql_emulator.tds.packets import PacketType
from mssql_emulator.tds.row_encoder import encode_column
from mssql_emulator.testing import RunningEmulator, running_emulator_process

TICKS_PER_SECOND = 10_000_000
TICKS_PER_DAY = 864_000_000_000
LAST_DAY = 3_652_058  # 9999-12-31 as days since 0001-01-01
DATETIME2_7 = SqlType("datetime2", scale=7)

VALUE = "2020-01-02 03:04:05.1234567"
VALUE_DAY = dt.date(2020, 1, 2).toordinal() - 1
VALUE_TICKS = (3 * 3600 + 4 * 60 + 5) * TICKS_PER_SECOND + 1_234_567

_names = itertools.count()


def _text(day: int, ticks: int) -> str:
    """SQL Server's text of a datetime2(7): ``yyyy-mm-dd hh:mm:ss.fffffff``."""
    seconds, fraction = divmod(ticks, TICKS_PER_SECOND)
    minutes, second = divmod(seconds, 60)
    date = dt.date.fromordinal(day + 1).isoformat()
    return f"{date} {minutes // 60:02d}:{minutes % 60:02d}:{second:02d}.{fraction:07d}"


def _cell(day: int, ticks: int) -> bytes:
    """One DATETIME2N(7) cell: length 8, 5 bytes of ticks, 3 bytes of days."""
    return b"\x08" + ticks.to_bytes(5, "little") + day.to_bytes(3, "little")


def _metadata(name: str, scale: int) -> bytes:
    """The type info and name of a DATETIME2N column in COLMETADATA."""
    return bytes([0x2A, scale, len(name)]) + name.encode("utf-16-le")


def _datetime2_param(day: int, ticks: int) -> bytes:
    """An unnamed input parameter of type DATETIME2N, scale 7, length 8."""
    return b"\x00\x00\x2a\x07\x08" + ticks.to_bytes(5, "little") + day.to_bytes(3, "little")


def _client(emulator: RunningEmulator) -> RawClient:
    client = RawClient(emulator.port)
    client.login(emulator.user, emulator.password, emulator.database)
    return client


def _rpc(
    client: RawClient, sql: str, day: int, ticks: int, declared: str = "datetime2(7)"
) -> bytes:
    client.send(PacketType.RPC, executesql(sql, declared, _datetime2_param(day, ticks)))
    return checked(client.read_message(), sql)


def _table(prefix: str, columns: str, raw: RawClient) -> str:
    name = f"{prefix}_{next(_names)}"
    batch(raw, f"CREATE TABLE {name} ({columns})")
    return name


# 1. Storage and the wire ---------------------------------------------------------------


def test_literal_keeps_seven_digits_in_datetime2_and_datetime2_7(raw: RawClient) -> None:
    table = _table("lit", "k int, d datetime2, d7 datetime2(7)", raw)
    batch(raw, f"INSERT INTO {table} VALUES (1, '{VALUE}', '{VALUE}')")
    text = batch(raw, f"SELECT CAST(d AS varchar(30)), CAST(d7 AS varchar(30)) FROM {table}")
    assert text.count(varchar_cell(VALUE)) == 2
    wide = batch(raw, f"SELECT CAST(d AS nvarchar(40)), CAST(d7 AS nvarchar(40)) FROM {table}")
    assert wide.count(nvarchar_cell(VALUE)) == 2
    cells = batch(raw, f"SELECT d, d7 FROM {table}")
    assert _metadata("d", 7) in cells and _metadata("d7", 7) in cells
    assert cells.count(_cell(VALUE_DAY, VALUE_TICKS)) == 2


def test_a_literal_cast_keeps_seven_digits(raw: RawClient) -> None:
    text = batch(raw, f"SELECT CAST(CAST('{VALUE}' AS datetime2) AS varchar(30))")
    assert varchar_cell(VALUE) in text
    cell = batch(raw, f"SELECT CAST('{VALUE}' AS datetime2(7)) AS v")
    assert _metadata("v", 7) in cell and _cell(VALUE_DAY, VALUE_TICKS) in cell
    default = batch(raw, f"SELECT CONVERT(datetime2, '{VALUE}') AS v")
    assert _metadata("v", 7) in default and _cell(VALUE_DAY, VALUE_TICKS) in default


EXTREMES = [
    (0, 0),  # 0001-01-01 00:00:00.0000000
    (LAST_DAY, TICKS_PER_DAY - 1),  # 9999-12-31 23:59:59.9999999
    (0, TICKS_PER_DAY - 1),
    (LAST_DAY, 1),
    # Just outside what DuckDB's TIMESTAMP_NS can hold (1677-09-21..2262-04-11).
    (dt.date(1677, 9, 21).toordinal() - 1, 7_431_452_241),
    (dt.date(2262, 4, 11).toordinal() - 1, 856_368_547_758),
]


@pytest.mark.parametrize(("day", "ticks"), EXTREMES, ids=[_text(*e) for e in EXTREMES])
def test_extremes_round_trip(raw: RawClient, day: int, ticks: int) -> None:
    table = _table("ext", "d datetime2(7)", raw)
    text = _text(day, ticks)
    batch(raw, f"INSERT INTO {table} VALUES ('{text}')")
    reply = batch(raw, f"SELECT d, CAST(d AS varchar(30)) FROM {table}")
    assert varchar_cell(text) in reply
    assert _cell(day, ticks) in reply
    found = batch(raw, f"SELECT CAST(COUNT(*) AS int) FROM {table} WHERE d = '{text}'")
    assert int_row(1) in found


# 2. Comparisons, ordering, aggregates --------------------------------------------------


@pytest.fixture(scope="module")
def ticks_table(emulator: RunningEmulator) -> str:
    """Rows differing only in the 7th digit: k=1 .1234567 (twice), k=2 .1234566, k=3 .1234569."""
    client = _client(emulator)
    table = _table("cmp", "k int, d datetime2", client)
    batch(
        client,
        f"INSERT INTO {table} VALUES (1, '2020-01-02 03:04:05.1234567'), "
        "(2, '2020-01-02 03:04:05.1234566'), (3, '2020-01-02 03:04:05.1234569'), "
        "(1, '2020-01-02 03:04:05.1234567')",
    )
    client.close()
    return table


@pytest.mark.parametrize(
    ("where", "count"),
    [
        ("d = '2020-01-02 03:04:05.1234567'", 2),
        ("d = '2020-01-02 03:04:05.1234568'", 0),
        ("d <> '2020-01-02 03:04:05.1234567'", 2),
        ("d > '2020-01-02 03:04:05.1234567'", 1),
        ("d < '2020-01-02 03:04:05.1234567'", 1),
        ("d >= '2020-01-02 03:04:05.1234567'", 3),
        ("d BETWEEN '2020-01-02 03:04:05.1234567' AND '2020-01-02 03:04:05.1234568'", 2),
        ("d IN ('2020-01-02 03:04:05.1234566', '2020-01-02 03:04:05.1234568')", 1),
        ("d = CAST('2020-01-02 03:04:05.1234569' AS datetime2(7))", 1),
        ("d > '2020-01-02 03:04:05.123456'", 4),  # .123456 is .1234560
        ("d < '2020-01-02 03:04:05.123457'", 4),
        ("d > '2020-01-02 03:04:05.1234566'", 3),
    ],
)
def test_where_tells_the_seventh_digit_apart(
    raw: RawClient, ticks_table: str, where: str, count: int
) -> None:
    reply = batch(raw, f"SELECT CAST(COUNT(*) AS int) FROM {ticks_table} WHERE {where}")
    assert int_row(count) in reply


def test_order_by_separates_the_seventh_digit(raw: RawClient, ticks_table: str) -> None:
    up = batch(raw, f"SELECT k FROM {ticks_table} ORDER BY d, k")
    assert in_order(up, int_row(2), int_row(1), int_row(3))
    down = batch(raw, f"SELECT k FROM {ticks_table} ORDER BY d DESC")
    assert in_order(down, int_row(3), int_row(1), int_row(2))
    top = batch(raw, f"SELECT TOP 1 CAST(d AS varchar(30)) FROM {ticks_table} ORDER BY d DESC")
    assert varchar_cell("2020-01-02 03:04:05.1234569") in top


def test_min_max_group_by_and_distinct_see_the_seventh_digit(
    raw: RawClient, ticks_table: str
) -> None:
    extremes = batch(
        raw, f"SELECT CAST(MIN(d) AS varchar(30)), CAST(MAX(d) AS varchar(30)) FROM {ticks_table}"
    )
    assert varchar_cell("2020-01-02 03:04:05.1234566") in extremes
    assert varchar_cell("2020-01-02 03:04:05.1234569") in extremes
    raw_max = batch(raw, f"SELECT MAX(d) AS m FROM {ticks_table}")
    assert _cell(VALUE_DAY, VALUE_TICKS + 2) in raw_max
    distinct = batch(raw, f"SELECT CAST(COUNT(DISTINCT d) AS int) FROM {ticks_table}")
    assert int_row(3) in distinct
    groups = batch(
        raw, f"SELECT CAST(COUNT(*) AS int) FROM (SELECT d FROM {ticks_table} GROUP BY d) AS g"
    )
    assert int_row(3) in groups
    sizes = batch(
        raw,
        f"SELECT CAST(COUNT(*) AS int), CAST(d AS varchar(30)) FROM {ticks_table} "
        "GROUP BY d ORDER BY d",
    )
    assert in_order(
        sizes,
        int_row(1) + varchar_cell("2020-01-02 03:04:05.1234566"),
        b"\x04" + struct.pack("<i", 2) + varchar_cell(VALUE),
        b"\x04" + struct.pack("<i", 1) + varchar_cell("2020-01-02 03:04:05.1234569"),
    )
    union = batch(
        raw,
        f"SELECT CAST(COUNT(*) AS int) FROM "
        f"(SELECT d FROM {ticks_table} UNION SELECT d FROM {ticks_table}) AS u",
    )
    assert int_row(3) in union


def test_mixed_scales_compare_by_value(raw: RawClient) -> None:
    table = _table("mix", "k int, d7 datetime2(7), d3 datetime2(3)", raw)
    batch(
        raw,
        f"INSERT INTO {table} VALUES "
        "(1, '2020-01-02 03:04:05.1230001', '2020-01-02 03:04:05.123'), "
        "(2, '2020-01-02 03:04:05.1230000', '2020-01-02 03:04:05.123')",
    )
    greater = batch(raw, f"SELECT k FROM {table} WHERE d7 > d3")
    assert int_row(1) in greater and int_row(2) not in greater
    equal = batch(raw, f"SELECT k FROM {table} WHERE d7 = d3")
    assert int_row(2) in equal and int_row(1) not in equal
    both = batch(raw, f"SELECT CAST(COALESCE(d7, d3) AS varchar(30)) FROM {table} WHERE k = 1")
    assert varchar_cell("2020-01-02 03:04:05.1230001") in both


# 3. RPC parameters with a seventh digit -----------------------------------------------


def test_parameter_keeps_seven_digits(raw: RawClient) -> None:
    echo = _rpc(raw, "SELECT CAST(@p AS varchar(30)) AS v", VALUE_DAY, VALUE_TICKS)
    assert varchar_cell(VALUE) in echo
    cell = _rpc(raw, "SELECT @p AS v", VALUE_DAY, VALUE_TICKS)
    assert _cell(VALUE_DAY, VALUE_TICKS) in cell


@pytest.mark.parametrize("column", ["datetime2", "datetime2(7)"])
def test_parameter_is_stored_and_compared_exactly(raw: RawClient, column: str) -> None:
    table = _table("par", f"d {column}", raw)
    _rpc(raw, f"INSERT INTO {table} VALUES (@p)", VALUE_DAY, VALUE_TICKS)
    _rpc(raw, f"INSERT INTO {table} VALUES (@p)", VALUE_DAY, VALUE_TICKS + 1)
    stored = batch(raw, f"SELECT d, CAST(d AS varchar(30)) FROM {table} ORDER BY d")
    assert in_order(
        stored,
        _cell(VALUE_DAY, VALUE_TICKS) + varchar_cell(VALUE),
        _cell(VALUE_DAY, VALUE_TICKS + 1) + varchar_cell("2020-01-02 03:04:05.1234568"),
    )
    for ticks in (VALUE_TICKS, VALUE_TICKS + 1):
        found = _rpc(
            raw, f"SELECT CAST(COUNT(*) AS int) FROM {table} WHERE d = @p", VALUE_DAY, ticks
        )
        assert int_row(1) in found
    missing = _rpc(
        raw, f"SELECT CAST(COUNT(*) AS int) FROM {table} WHERE d = @p", VALUE_DAY, VALUE_TICKS - 1
    )
    assert int_row(0) in missing
    above = _rpc(
        raw, f"SELECT CAST(COUNT(*) AS int) FROM {table} WHERE d > @p", VALUE_DAY, VALUE_TICKS
    )
    assert int_row(1) in above


PARAM_EDGES = [
    *EXTREMES,
    (VALUE_DAY, VALUE_TICKS - 1_234_567 + 9_999_995),  # .9999995: microseconds round up
    (VALUE_DAY, VALUE_TICKS - 1_234_567 + 9_999_999),
    (VALUE_DAY, TICKS_PER_DAY - 5),  # 23:59:59.9999995
    (VALUE_DAY, 1),
]


@pytest.mark.parametrize(("day", "ticks"), PARAM_EDGES, ids=[_text(*e) for e in PARAM_EDGES])
def test_parameter_edges_keep_date_second_and_digit(raw: RawClient, day: int, ticks: int) -> None:
    reply = _rpc(raw, "SELECT CAST(@p AS varchar(30)) AS v, @p AS c", day, ticks)
    assert varchar_cell(_text(day, ticks)) + _cell(day, ticks) in reply


def test_parameter_into_a_lower_scale_rounds(raw: RawClient) -> None:
    table = _table("par3", "d3 datetime2(3), d6 datetime2(6)", raw)
    _rpc(raw, f"INSERT INTO {table} VALUES (@p, @p)", VALUE_DAY, VALUE_TICKS)
    reply = batch(raw, f"SELECT CAST(d3 AS varchar(30)), CAST(d6 AS varchar(30)) FROM {table}")
    assert varchar_cell("2020-01-02 03:04:05.123") in reply
    assert varchar_cell("2020-01-02 03:04:05.123457") in reply


# 4. Conversions to lower scales and other types ---------------------------------------


@pytest.mark.parametrize(
    ("value", "scale", "expected"),
    [
        ("2020-01-02 03:04:05.1234567", 6, "2020-01-02 03:04:05.123457"),
        ("2020-01-02 03:04:05.1234564", 6, "2020-01-02 03:04:05.123456"),
        ("2020-01-02 03:04:05.1234565", 6, "2020-01-02 03:04:05.123457"),  # half up
        ("2020-01-02 03:04:05.1234567", 5, "2020-01-02 03:04:05.12346"),
        ("2020-01-02 03:04:05.1234567", 3, "2020-01-02 03:04:05.123"),
        ("2020-01-02 03:04:05.1234995", 3, "2020-01-02 03:04:05.123"),  # rounded once
        ("2020-01-02 03:04:05.4999999", 0, "2020-01-02 03:04:05"),  # rounded once
        ("2020-01-02 03:04:05.5000000", 0, "2020-01-02 03:04:06"),
        ("2020-12-31 23:59:59.9999994", 6, "2020-12-31 23:59:59.999999"),
        ("2020-01-02 03:04:05.1234567", 7, "2020-01-02 03:04:05.1234567"),
    ],
)
def test_cast_to_a_lower_scale_rounds_half_up(
    raw: RawClient, value: str, scale: int, expected: str
) -> None:
    table = _table("round", "d datetime2", raw)
    batch(raw, f"INSERT INTO {table} VALUES ('{value}')")
    column = batch(raw, f"SELECT CAST(CAST(d AS datetime2({scale})) AS varchar(30)) FROM {table}")
    assert varchar_cell(expected) in column
    variable = batch(
        raw,
        f"DECLARE @v datetime2 = '{value}'; "
        f"SELECT CAST(CAST(@v AS datetime2({scale})) AS varchar(30))",
    )
    assert varchar_cell(expected) in variable


def test_cast_to_datetime2_6_on_the_wire_counts_microseconds(raw: RawClient) -> None:
    table = _table("wire6", "d datetime2", raw)
    batch(raw, f"INSERT INTO {table} VALUES ('{VALUE}')")
    reply = batch(raw, f"SELECT CAST(d AS datetime2(6)) AS v FROM {table}")
    micros = (VALUE_TICKS + 5) // 10
    assert _metadata("v", 6) in reply
    assert b"\x08" + micros.to_bytes(5, "little") + VALUE_DAY.to_bytes(3, "little") in reply


def test_rounding_to_datetime2_6_carries_into_the_next_day(raw: RawClient) -> None:
    table = _table("carry", "d datetime2", raw)
    batch(raw, f"INSERT INTO {table} VALUES ('2020-12-31 23:59:59.9999995')")
    reply = batch(raw, f"SELECT CAST(d AS datetime2(6)) AS v FROM {table}")
    next_day = dt.date(2021, 1, 1).toordinal() - 1
    assert _metadata("v", 6) in reply
    assert b"\x08" + bytes(5) + next_day.to_bytes(3, "little") in reply
    found = batch(
        raw,
        f"SELECT CAST(COUNT(*) AS int) FROM {table} "
        "WHERE CAST(d AS datetime2(6)) = '2021-01-01 00:00:00'",
    )
    assert int_row(1) in found


def test_cast_to_date_time_and_datetime(raw: RawClient) -> None:
    table = _table("conv", "d datetime2", raw)
    batch(raw, f"INSERT INTO {table} VALUES ('{VALUE}')")
    date = batch(raw, f"SELECT CAST(CAST(d AS date) AS varchar(30)) FROM {table}")
    assert varchar_cell("2020-01-02") in date
    time = batch(raw, f"SELECT CAST(CAST(d AS time) AS varchar(30)) FROM {table}")
    assert varchar_cell("03:04:05.1234567") in time
    legacy = batch(raw, f"SELECT CONVERT(varchar(30), CAST(d AS datetime), 121) FROM {table}")
    assert varchar_cell("2020-01-02 03:04:05.123") in legacy
    # datetime: days since 1900-01-01, then 1/300 s since midnight (.1234567 s is 37 of them).
    cell = batch(raw, f"SELECT CAST(d AS datetime) AS v FROM {table}")
    assert b"\x08" + struct.pack("<iI", 43_830, 11_045 * 300 + 37) in cell


# 5. DATEADD, DATEPART, DATEDIFF -------------------------------------------------------


DATEADDS = [
    ("DATEADD(day, 1, d)", "2020-01-03 03:04:05.1234567"),
    ("DATEADD(second, 1, d)", "2020-01-02 03:04:06.1234567"),
    ("DATEADD(nanosecond, 100, d)", "2020-01-02 03:04:05.1234568"),
    ("DATEADD(ns, -100, d)", "2020-01-02 03:04:05.1234566"),
    ("DATEADD(microsecond, 1, d)", "2020-01-02 03:04:05.1234577"),
    ("DATEADD(millisecond, 1, d)", "2020-01-02 03:04:05.1244567"),
    ("DATEADD(minute, -5, d)", "2020-01-02 02:59:05.1234567"),
    ("DATEADD(hour, 21, d)", "2020-01-03 00:04:05.1234567"),
    ("DATEADD(month, 1, d)", "2020-02-02 03:04:05.1234567"),
    ("DATEADD(year, -2019, d)", "0001-01-02 03:04:05.1234567"),
    ("DATEADD(day, 1, DATEADD(ns, 100, d))", "2020-01-03 03:04:05.1234568"),
]


@pytest.mark.parametrize(("expr", "expected"), DATEADDS, ids=[d[0] for d in DATEADDS])
def test_dateadd_keeps_or_moves_the_seventh_digit(
    raw: RawClient, ticks_table: str, expr: str, expected: str
) -> None:
    reply = batch(raw, f"SELECT TOP 1 CAST({expr} AS varchar(30)) FROM {ticks_table} WHERE k = 1")
    assert varchar_cell(expected) in reply


def test_dateadd_result_is_datetime2_7_on_the_wire(raw: RawClient, ticks_table: str) -> None:
    reply = batch(raw, f"SELECT TOP 1 DATEADD(ns, 100, d) AS v FROM {ticks_table} WHERE k = 1")
    assert _metadata("v", 7) in reply
    assert _cell(VALUE_DAY, VALUE_TICKS + 1) in reply


OVERFLOWS = [
    "DATEADD(ns, 100, CAST('9999-12-31 23:59:59.9999999' AS datetime2))",
    "DATEADD(ns, -100, CAST('0001-01-01' AS datetime2))",
    "DATEADD(day, 1, CAST('9999-12-31 00:00:00.0000001' AS datetime2))",
    "DATEADD(year, -1, CAST('0001-06-01' AS datetime2))",
]


@pytest.mark.parametrize("expr", OVERFLOWS)
def test_dateadd_past_the_range_is_error_517(raw: RawClient, expr: str) -> None:
    assert error_numbers(raw.query(f"SELECT {expr}")) == [517]
    assert int_row(1) in batch(raw, "SELECT 1")  # the connection stays usable


def test_dateadd_to_the_last_tick_is_allowed(raw: RawClient) -> None:
    reply = batch(
        raw,
        "SELECT DATEADD(ns, 100, CAST('9999-12-31 23:59:59.9999998' AS datetime2)) AS v",
    )
    assert _cell(LAST_DAY, TICKS_PER_DAY - 1) in reply


def test_dateadd_of_nanoseconds_crosses_midnight(raw: RawClient) -> None:
    table = _table("midnight", "d datetime2", raw)
    batch(raw, f"INSERT INTO {table} VALUES ('2020-01-02 00:00:00.0000000')")
    back = batch(raw, f"SELECT CAST(DATEADD(ns, -100, d) AS varchar(30)) FROM {table}")
    assert varchar_cell("2020-01-01 23:59:59.9999999") in back
    forth = batch(
        raw,
        f"SELECT CAST(DATEADD(ns, 100, DATEADD(ns, -100, d)) AS varchar(30)) FROM {table}",
    )
    assert varchar_cell("2020-01-02 00:00:00.0000000") in forth


# SQL Server's DATEADD page, "fractional seconds precision": nanoseconds round to 100 ns.
DOCUMENTED = [
    ("millisecond", 1, "2024-01-01 13:10:10.1121111"),
    ("millisecond", 2, "2024-01-01 13:10:10.1131111"),
    ("microsecond", 1, "2024-01-01 13:10:10.1111121"),
    ("microsecond", 2, "2024-01-01 13:10:10.1111131"),
    ("nanosecond", 49, "2024-01-01 13:10:10.1111111"),
    ("nanosecond", 50, "2024-01-01 13:10:10.1111112"),
    ("nanosecond", 150, "2024-01-01 13:10:10.1111113"),
]


@pytest.mark.parametrize(("part", "number", "expected"), DOCUMENTED)
def test_dateadd_documented_fractional_seconds(
    raw: RawClient, part: str, number: int, expected: str
) -> None:
    reply = batch(
        raw,
        "DECLARE @datetime2 datetime2 = '2024-01-01 13:10:10.1111111'; "
        f"SELECT CAST(DATEADD({part}, {number}, @datetime2) AS varchar(30))",
    )
    assert varchar_cell(expected) in reply


def test_datepart_and_datediff_of_nanoseconds(raw: RawClient, ticks_table: str) -> None:
    part = batch(raw, f"SELECT TOP 1 DATEPART(nanosecond, d) FROM {ticks_table} WHERE k = 1")
    assert int_row(123_456_700) in part
    diff = batch(
        raw,
        f"SELECT DATEDIFF(nanosecond, a.d, b.d) FROM {ticks_table} a, {ticks_table} b "
        "WHERE a.k = 2 AND b.k = 3",
    )
    assert int_row(300) in diff


# 6. Variables -------------------------------------------------------------------------


def test_declare_and_set_keep_seven_digits(raw: RawClient) -> None:
    declared = batch(raw, f"DECLARE @v datetime2 = '{VALUE}'; SELECT CAST(@v AS varchar(30))")
    assert varchar_cell(VALUE) in declared
    assigned = batch(
        raw,
        "DECLARE @v datetime2(7); SET @v = '2020-01-02 03:04:05.1234568'; "
        "SELECT CAST(@v AS varchar(30))",
    )
    assert varchar_cell("2020-01-02 03:04:05.1234568") in assigned
    moved = batch(
        raw,
        f"DECLARE @v datetime2 = '{VALUE}'; SET @v = DATEADD(ns, 100, @v); "
        "SELECT CAST(@v AS varchar(30))",
    )
    assert varchar_cell("2020-01-02 03:04:05.1234568") in moved
    cell = batch(raw, f"DECLARE @v datetime2 = '{VALUE}'; SELECT @v AS v")
    assert _metadata("v", 7) in cell and _cell(VALUE_DAY, VALUE_TICKS) in cell
    lower = batch(raw, f"DECLARE @v datetime2(3) = '{VALUE}'; SELECT CAST(@v AS varchar(30))")
    assert varchar_cell("2020-01-02 03:04:05.123") in lower


def test_variables_read_and_compare_columns_exactly(raw: RawClient, ticks_table: str) -> None:
    selected = batch(
        raw,
        f"DECLARE @v datetime2; SELECT @v = MAX(d) FROM {ticks_table}; "
        "SELECT CAST(@v AS varchar(30))",
    )
    assert varchar_cell("2020-01-02 03:04:05.1234569") in selected
    compared = batch(
        raw,
        "DECLARE @v datetime2 = '2020-01-02 03:04:05.1234566'; "
        f"SELECT CAST(COUNT(*) AS int) FROM {ticks_table} WHERE d = @v",
    )
    assert int_row(1) in compared


@pytest.fixture
def source(raw: RawClient) -> str:
    table = _table("src", "d datetime2", raw)
    batch(raw, f"INSERT INTO {table} VALUES ('9999-12-31 23:59:59.9999999'), ('{VALUE}')")
    return table


def test_insert_select_keeps_seven_digits(raw: RawClient, source: str) -> None:
    target = _table("dst", "d datetime2(7), d3 datetime2(3)", raw)
    batch(raw, f"INSERT INTO {target} SELECT d, d FROM {source}")
    reply = batch(
        raw, f"SELECT CAST(d AS varchar(30)), CAST(d3 AS varchar(30)) FROM {target} ORDER BY d"
    )
    assert in_order(
        reply,
        varchar_cell(VALUE) + varchar_cell("2020-01-02 03:04:05.123"),
        varchar_cell("9999-12-31 23:59:59.9999999"),
    )


def test_insert_select_filtered_by_a_literal(raw: RawClient, source: str) -> None:
    target = _table("dstw", "d datetime2(7)", raw)
    batch(raw, f"INSERT INTO {target} SELECT d FROM {source} WHERE d < '9999-01-01'")
    reply = batch(raw, f"SELECT CAST(d AS varchar(30)) FROM {target}")
    assert varchar_cell(VALUE) in reply and b"9999-12-31" not in reply


def test_update_keeps_and_moves_seven_digits(raw: RawClient, source: str) -> None:
    batch(raw, f"UPDATE {source} SET d = DATEADD(ns, 100, d) WHERE d < '9000-01-01'")
    moved = batch(raw, f"SELECT CAST(d AS varchar(30)) FROM {source} ORDER BY d")
    assert in_order(
        moved,
        varchar_cell("2020-01-02 03:04:05.1234568"),
        varchar_cell("9999-12-31 23:59:59.9999999"),
    )
    batch(raw, f"UPDATE {source} SET d = '0001-01-01 00:00:00.0000001' WHERE d > '9000-01-01'")
    updated = batch(raw, f"SELECT d FROM {source} ORDER BY d")
    assert in_order(updated, _cell(0, 1), _cell(VALUE_DAY, VALUE_TICKS + 1))


def test_update_of_a_lower_scale_from_a_subquery_rounds(raw: RawClient, source: str) -> None:
    target = _table("dst3", "k int, d3 datetime2(3)", raw)
    batch(raw, f"INSERT INTO {target} VALUES (1, NULL)")
    batch(raw, f"UPDATE {target} SET d3 = (SELECT MIN(d) FROM {source})")
    reply = batch(raw, f"SELECT CAST(d3 AS varchar(30)) FROM {target}")
    assert varchar_cell("2020-01-02 03:04:05.123") in reply


# Other expressions a datetime2(7) value flows through; SQL Server's text of each.
EXPRESSIONS = [
    ("CONVERT(varchar(30), d, 121)", VALUE),
    ("CONCAT('x', d)", "x" + VALUE),
    ("(SELECT MAX(d) FROM {table})", VALUE),
    ("MIN(d) OVER ()", VALUE),
    ("FIRST_VALUE(d) OVER (ORDER BY d)", VALUE),
    ("CAST(d AS sql_variant)", VALUE),
    (f"TRY_CONVERT(datetime2, '{VALUE}')", VALUE),
    ("CASE WHEN d IS NULL THEN NULL ELSE d END", VALUE),
    ("DATEDIFF_BIG(nanosecond, '2020-01-01', d)", "97445123456700"),
    ("DATENAME(nanosecond, d)", "123456700"),
    ("DATENAME(month, d)", "January"),
    ("DATENAME(weekday, d)", "Thursday"),
    ("EOMONTH(d)", "2020-01-31"),
]


@pytest.mark.parametrize(("expr", "expected"), EXPRESSIONS, ids=[e[0] for e in EXPRESSIONS])
def test_expressions_of_datetime2_7(raw: RawClient, expr: str, expected: str) -> None:
    table = _table("expr", "d datetime2", raw)
    batch(raw, f"INSERT INTO {table} VALUES ('{VALUE}')")
    reply = batch(raw, f"SELECT CAST({expr.format(table=table)} AS varchar(40)) FROM {table}")
    assert varchar_cell(expected) in reply


def test_procedure_parameters_keep_seven_digits(raw: RawClient) -> None:
    name = f"show_dt2_{next(_names)}"
    batch(raw, f"CREATE PROCEDURE {name} @d datetime2 AS SELECT CAST(@d AS varchar(30)) AS v")
    literal = batch(raw, f"EXEC {name} '{VALUE}'")
    assert varchar_cell(VALUE) in literal
    named = batch(raw, f"EXEC {name} @d = '9999-12-31 23:59:59.9999999'")
    assert varchar_cell("9999-12-31 23:59:59.9999999") in named
    # An RPC naming the procedure, its argument a DATETIME2N(7) value.
    proc = name.encode("utf-16-le")
    request = ALL_HEADERS + struct.pack("<H", len(name)) + proc + b"\x00\x00"
    request += _datetime2_param(VALUE_DAY, VALUE_TICKS + 1)
    raw.send(PacketType.RPC, request)
    reply = checked(raw.read_message(), name)
    assert varchar_cell("2020-01-02 03:04:05.1234568") in reply


# 7. Bulk load -------------------------------------------------------------------------


def _bulk_payload(cells: list[bytes]) -> bytes:
    name = "d".encode("utf-16-le")
    metadata = b"\x81\x01\x00" + bytes(6) + bytes([0x2A, 7, 1]) + name
    rows = b"".join(b"\xd1" + (cell or b"\x00") for cell in cells)
    return metadata + rows + b"\xfd" + bytes(12)


@pytest.fixture(scope="module")
def engine_values() -> Iterator[tuple[SqlType, pa.Array]]:
    """The engine's own Arrow result and declared type for datetime2(7) values."""
    engine = DuckDBEngine(["testdb"])
    session = engine.open_session("testdb", "sa")
    values = ", ".join(f"({k}, '{_text(*e)}')" for k, e in enumerate(EXTREMES))
    sql = (
        "CREATE TABLE enc (k int, d datetime2); "
        f"INSERT INTO enc VALUES {values}, ({len(EXTREMES)}, '{VALUE}'), "
        f"({len(EXTREMES) + 1}, NULL); SELECT d FROM enc ORDER BY k"
    )
    found: tuple[SqlType, pa.Array] | None = None
    for result in session.execute(sql):
        if result.result_set is not None:
            batches = list(result.result_set.batches)
            column = pa.Table.from_batches(batches).column(0).combine_chunks()
            found = (result.result_set.columns[0].type, column)
    session.close()
    engine.close()
    assert found is not None
    yield found


def _encoded(arr: pa.Array, sql_type: SqlType) -> list[bytes]:
    valid = arr.is_valid().to_numpy(zero_copy_only=False)
    cells: list[bytes] = encode_column(arr, sql_type, valid).to_pylist()
    return cells


def test_encoder_sends_the_engines_datetime2_7_exactly(
    engine_values: tuple[SqlType, pa.Array],
) -> None:
    sql_type, column = engine_values
    assert sql_type == DATETIME2_7
    expected = [_cell(*e) for e in EXTREMES] + [_cell(VALUE_DAY, VALUE_TICKS), b""]
    assert _encoded(column, sql_type) == expected


def test_bulk_rows_of_the_engines_cells_round_trip(
    engine_values: tuple[SqlType, pa.Array],
) -> None:
    sql_type, column = engine_values
    cells = _encoded(column, sql_type)
    rows = decode_bulk(_bulk_payload(cells))
    decoded = rows.table.column(0).combine_chunks()
    assert decoded.null_count == 1
    assert _encoded(decoded, DATETIME2_7) == cells


@settings(max_examples=60, deadline=None)
@given(day=st.integers(0, LAST_DAY), ticks=st.integers(0, TICKS_PER_DAY - 1))
def test_bulk_decoding_keeps_any_ticks(day: int, ticks: int) -> None:
    rows = decode_bulk(_bulk_payload([_cell(day, ticks)]))
    decoded = rows.table.column(0).combine_chunks()
    assert _encoded(decoded, DATETIME2_7) == [_cell(day, ticks)]


def test_bulk_load_stores_datetime2_7_exactly(raw: RawClient) -> None:
    table = _table("bulk", "d datetime2(7), d3 datetime2(3)", raw)
    batch(raw, f"INSERT BULK {table} (d datetime2(7), d3 datetime2(3))")
    name = "d".encode("utf-16-le")
    columns = bytes(6) + bytes([0x2A, 7, 1]) + name + bytes(6) + bytes([0x2A, 3, 1]) + name
    scale3 = (VALUE_TICKS // 10_000).to_bytes(4, "little") + VALUE_DAY.to_bytes(3, "little")
    rows = b"\xd1" + _cell(VALUE_DAY, VALUE_TICKS) + b"\x07" + scale3
    rows += b"\xd1" + _cell(LAST_DAY, TICKS_PER_DAY - 1) + b"\x00"
    raw.send(PacketType.BULK_LOAD, b"\x81\x02\x00" + columns + rows + b"\xfd" + bytes(12))
    assert error_numbers(raw.read_message()) == []
    reply = batch(
        raw, f"SELECT d, CAST(d AS varchar(30)), CAST(d3 AS varchar(30)) FROM {table} ORDER BY d"
    )
    assert in_order(
        reply,
        _cell(VALUE_DAY, VALUE_TICKS)
        + varchar_cell(VALUE)
        + varchar_cell("2020-01-02 03:04:05.123"),
        _cell(LAST_DAY, TICKS_PER_DAY - 1) + varchar_cell("9999-12-31 23:59:59.9999999"),
    )


@pytest.fixture(scope="module")
def bcp_emulator() -> Iterator[RunningEmulator]:
    """FreeTDS's bcp sends holding the GIL: an in-process server could not read the rows."""
    with running_emulator_process() as emu:
        yield emu


def test_pymssql_bulk_copy_sends_seven_digits_as_ticks(bcp_emulator: RunningEmulator) -> None:
    # FreeTDS converts the text to a DATETIME2N(7) cell on the client: the ticks go on the wire.
    # (Its text parser sends 0001-01-01 as 2001-01-01 and 1000-06-15 as 1900-06-15, so the
    # earliest value here is datetime's first day.)
    texts = [VALUE, "1753-01-01 00:00:00.0000001", "9999-12-31 23:59:59.9999999"]
    table = f"bcp_dt2_{next(_names)}"
    conn = pymssql.connect(
        server=bcp_emulator.host,
        port=str(bcp_emulator.port),
        user=bcp_emulator.user,
        password=bcp_emulator.password,
        database=bcp_emulator.database,
        autocommit=True,
        tds_version="7.4",
    )
    try:
        cur = conn.cursor()
        cur.execute(f"CREATE TABLE {table} (k int identity, d datetime2(7))")
        conn.bulk_copy(table, [(text,) for text in texts], [2])
        cur.execute(f"SELECT CAST(d AS varchar(30)) FROM {table} ORDER BY k")
        assert [row[0] for row in cur.fetchall()] == texts
        cur.execute(f"SELECT CAST(COUNT(*) AS int) FROM {table} WHERE d = '{VALUE}'")
        assert cur.fetchall() == [(1,)]
    finally:
        conn.close()


# 8. Properties ------------------------------------------------------------------------

DAYS = st.integers(min_value=0, max_value=LAST_DAY)
TICKS = st.integers(min_value=0, max_value=TICKS_PER_DAY - 1)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(day=DAYS, ticks=TICKS, via_param=st.booleans())
def test_random_ticks_round_trip(
    emulator: RunningEmulator, day: int, ticks: int, via_param: bool
) -> None:
    raw = _client(emulator)  # each example its own connection, so shrinking stays sound
    try:
        batch(raw, "IF OBJECT_ID('prop_dt2') IS NULL CREATE TABLE prop_dt2 (d datetime2)")
        batch(raw, "DELETE FROM prop_dt2")
        if via_param:
            _rpc(raw, "INSERT INTO prop_dt2 VALUES (@p)", day, ticks)
        else:
            batch(raw, f"INSERT INTO prop_dt2 VALUES ('{_text(day, ticks)}')")
        reply = batch(raw, "SELECT d, CAST(d AS varchar(30)) FROM prop_dt2")
    finally:
        raw.close()
    assert _cell(day, ticks) + varchar_cell(_text(day, ticks)) in reply


@pytest.fixture(params=DRIVERS, ids=lambda d: d.name)
def named_conn(
    request: pytest.FixtureRequest, emulator: RunningEmulator
) -> Iterator[tuple[str, Any]]:
    driver: Driver = request.param
    connection = driver.connect(emulator)
    table = "prop_dt2_" + driver.name.replace("-", "_")
    cur = connection.cursor()
    cur.execute(f"IF OBJECT_ID('{table}') IS NULL CREATE TABLE {table} (d datetime2)")
    cur.close()
    connection.commit()
    yield table, connection
    connection.close()


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(day=DAYS, ticks=TICKS)
def test_random_ticks_read_back_through_every_driver(
    named_conn: tuple[str, Any], day: int, ticks: int
) -> None:
    table, connection = named_conn
    text = _text(day, ticks)
    cur = connection.cursor()
    cur.execute(f"DELETE FROM {table}")
    cur.execute(f"INSERT INTO {table} VALUES ('{text}')")
    cur.execute(f"SELECT CAST(d AS varchar(30)) FROM {table}")
    rows = [tuple(row) for row in cur.fetchall()]
    cur.close()
    connection.commit()
    assert rows == [(text,)]


# 9. Lower scales are unchanged --------------------------------------------------------


LOWER = [
    (0, "2020-01-02 03:04:05", 3, 11_045),
    (3, "2020-01-02 03:04:05.123", 4, 11_045_123),
    (6, "2020-01-02 03:04:05.123457", 5, 11_045_123_457),
]


@pytest.mark.parametrize(("scale", "text", "size", "count"), LOWER, ids=["s0", "s3", "s6"])
def test_lower_scale_columns_round_as_before(
    raw: RawClient, scale: int, text: str, size: int, count: int
) -> None:
    table = _table(f"low{scale}", f"d datetime2({scale})", raw)
    batch(raw, f"INSERT INTO {table} VALUES ('{VALUE}')")
    reply = batch(raw, f"SELECT d, CAST(d AS varchar(30)) FROM {table}")
    assert _metadata("d", scale) in reply
    cell = bytes([size + 3]) + count.to_bytes(size, "little") + VALUE_DAY.to_bytes(3, "little")
    assert cell + varchar_cell(text) in reply
    found = batch(raw, f"SELECT CAST(COUNT(*) AS int) FROM {table} WHERE d = '{text}'")
    assert int_row(1) in found
    moved = batch(raw, f"SELECT CAST(DATEADD(second, 1, d) AS varchar(30)) FROM {table}")
    assert varchar_cell(text.replace(":05", ":06")) in moved


def test_lower_scale_column_dateadd_of_milliseconds(raw: RawClient) -> None:
    table = _table("low3ms", "d datetime2(3)", raw)
    batch(raw, f"INSERT INTO {table} VALUES ('{VALUE}')")
    moved = batch(raw, f"SELECT CAST(DATEADD(ms, 1, d) AS varchar(30)) FROM {table}")
    assert varchar_cell("2020-01-02 03:04:05.124") in moved
    cell = batch(raw, f"SELECT DATEADD(ms, 1, d) AS v FROM {table}")
    assert _metadata("v", 3) in cell


@pytest.mark.parametrize(
    ("scale", "literal", "expected"),
    [
        (0, "2020-01-02 03:04:05.5", "2020-01-02 03:04:06"),
        (3, VALUE, "2020-01-02 03:04:05.123"),
        (6, VALUE, "2020-01-02 03:04:05.123457"),
    ],
)
def test_lower_scale_variables_round_on_assignment(
    raw: RawClient, scale: int, literal: str, expected: str
) -> None:
    declared = batch(
        raw,
        f"DECLARE @v datetime2({scale}) = '{literal}'; SELECT CAST(@v AS varchar(30))",
    )
    assert varchar_cell(expected) in declared
    assigned = batch(
        raw,
        f"DECLARE @v datetime2({scale}); SET @v = '{literal}'; SELECT CAST(@v AS varchar(30))",
    )
    assert varchar_cell(expected) in assigned


def test_lower_scale_variable_dateadd(raw: RawClient) -> None:
    reply = batch(
        raw,
        f"DECLARE @v datetime2(3) = '{VALUE}'; SELECT CAST(DATEADD(ms, 1, @v) AS varchar(30))",
    )
    assert varchar_cell("2020-01-02 03:04:05.124") in reply
