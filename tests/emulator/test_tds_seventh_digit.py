"""time(7) keeps its seventh fractional digit (100 ns ticks) through literals, parameters,
storage, comparisons and the wire; lower scales round as SQL Server does.

Python's ``datetime.time`` stops at microseconds, so the digits are checked as the server's
own text (``CAST(... AS varchar(30))``) and as the raw TIMEN bytes of the reply; parameters
with seven digits go out as raw RPC requests, since no Python driver can send them.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest
from drivers import DRIVERS, Driver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tds_client import RawClient, batch, checked, error_numbers, executesql, int_row

from mssql_emulator.contract import SqlType
from mssql_emulator.tds.bulk_rows import decode_bulk
from mssql_emulator.tds.packets import PacketType
from mssql_emulator.tds.row_encoder import encode_column
from mssql_emulator.testing import RunningEmulator

TICKS_PER_DAY = 864_000_000_000
DAYS_0001_TO_1970 = 719_162
# Nanosecond timestamps span 1677-09-22..2262-04-11 (whole days inside int64 nanoseconds).
NS_DAYS = st.integers(min_value=-106_750, max_value=106_749)


def _text(ticks: int) -> str:
    seconds, fraction = divmod(ticks, 10_000_000)
    minutes, second = divmod(seconds, 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}:{second:02d}.{fraction:07d}"


def _time7_param(ticks: int) -> bytes:
    return b"\x00\x00\x29\x07\x05" + ticks.to_bytes(5, "little")


@pytest.fixture(scope="module")
def raw(emulator: RunningEmulator) -> Iterator[RawClient]:
    client = RawClient(emulator.port)
    client.login(emulator.user, emulator.password, emulator.database)
    yield client
    client.close()


def _rpc(client: RawClient, sql: str, ticks: int) -> bytes:
    client.send(PacketType.RPC, executesql(sql, "time(7)", _time7_param(ticks)))
    return checked(client.read_message(), sql)


@pytest.fixture(params=DRIVERS, ids=lambda d: d.name)
def conn(request: pytest.FixtureRequest, emulator: RunningEmulator) -> Iterator[Any]:
    driver: Driver = request.param
    connection = driver.connect(emulator)
    yield connection
    connection.close()


def _scalar(connection: Any, sql: str) -> Any:
    cur = connection.cursor()
    cur.execute(sql)
    row = cur.fetchone()
    cur.close()
    return row[0]


def test_literal_keeps_seven_digits_for_every_driver(conn: Any) -> None:
    assert _scalar(conn, "SELECT CAST(CAST('12:34:56.1234567' AS time(7)) AS varchar(30))") == (
        "12:34:56.1234567"
    )
    assert _scalar(conn, "SELECT CAST(CAST('12:34:56.1234567' AS time) AS nvarchar(40))") == (
        "12:34:56.1234567"
    )


def test_variable_keeps_seven_digits(conn: Any) -> None:
    sql = (
        "DECLARE @t time(7) = '12:34:56.1234567'; "
        "SELECT CAST(@t AS varchar(30)) + '|' + CAST(DATEADD(hour, 1, @t) AS varchar(30))"
    )
    assert _scalar(conn, sql) == "12:34:56.1234567|13:34:56.1234567"


@pytest.mark.parametrize(
    ("scale", "expected"),
    [
        (0, "12:34:57"),
        (1, "12:34:56.6"),
        (3, "12:34:56.556"),
        (4, "12:34:56.5556"),
        (6, "12:34:56.555556"),
        (7, "12:34:56.5555555"),
    ],
)
def test_lower_scales_round_half_up(raw: RawClient, scale: int, expected: str) -> None:
    reply = batch(
        raw, f"SELECT CAST(CAST('12:34:56.5555555' AS time({scale})) AS varchar(30)) AS v"
    )
    assert expected.encode() in reply


def test_rounding_from_seven_digits_is_not_done_twice(raw: RawClient) -> None:
    # Rounded once, .1234995 is .123; through microseconds (.123500) it would be .124.
    literal = batch(raw, "SELECT CAST(CAST('12:34:56.1234995' AS time(3)) AS varchar(30))")
    assert b"12:34:56.123" in literal and b"12:34:56.124" not in literal
    column = batch(
        raw,
        "DECLARE @t time(7) = '12:34:56.1234995'; SELECT CAST(CAST(@t AS time(3)) AS varchar(30))",
    )
    assert b"12:34:56.123" in column and b"12:34:56.124" not in column


def test_a_seventh_digit_exactly_on_the_wire(raw: RawClient) -> None:
    ticks = 452_961_234_567
    reply = batch(raw, "SELECT CAST('12:34:56.1234567' AS time(7)) AS v")
    assert b"\x05" + ticks.to_bytes(5, "little") in reply
    rounded = batch(raw, "SELECT CAST('12:34:56.1234567' AS time(6)) AS v")
    assert b"\x05" + (45_296_123_457).to_bytes(5, "little") in rounded  # counts microseconds


def test_column_comparisons_and_mixed_scales(raw: RawClient) -> None:
    batch(
        raw,
        "CREATE TABLE cmp7 (id int, t7 time(7), t3 time(3)); "
        "INSERT INTO cmp7 VALUES (1, '12:34:56.1234567', '12:34:56.123'), "
        "(2, '12:34:56.1234568', '12:34:56.124')",
    )
    exact = batch(raw, "SELECT id FROM cmp7 WHERE t7 = '12:34:56.1234568'")
    assert int_row(2) in exact and int_row(1) not in exact
    mixed = batch(
        raw,
        "SELECT CAST(COUNT(*) AS int) FROM cmp7 WHERE t7 > t3 AND COALESCE(t7, t3) IS NOT NULL",
    )
    assert int_row(1) in mixed
    upper = batch(raw, "SELECT CAST(MAX(t7) AS varchar(30)) FROM cmp7")
    assert b"12:34:56.1234568" in upper


def test_bulk_insert_select_round_trip(raw: RawClient) -> None:
    batch(
        raw,
        "CREATE TABLE src7 (t time(7)); CREATE TABLE dst7 (t time(7), t2 time(2)); "
        "INSERT INTO src7 VALUES ('23:59:59.9999999'), ('00:00:00.0000001'); "
        "INSERT INTO dst7 SELECT t, t FROM src7; UPDATE dst7 SET t = t WHERE t > '12:00'",
    )
    reply = batch(raw, "SELECT CAST(t AS varchar(30)), CAST(t2 AS varchar(30)) FROM dst7")
    assert b"23:59:59.9999999" in reply and b"00:00:00.0000001" in reply
    assert b"00:00:00" in reply  # 23:59:59.9999999 as time(2) wraps, as in SQL Server


def test_parameter_keeps_seven_digits(raw: RawClient) -> None:
    ticks = 1_234_567
    reply = _rpc(raw, "SELECT CAST(@p AS varchar(30)) AS v", ticks)
    assert _text(ticks).encode() in reply
    batch(raw, "CREATE TABLE par7 (t time(7))")
    _rpc(raw, "INSERT INTO par7 VALUES (@p)", ticks)
    found = _rpc(raw, "SELECT CAST(COUNT(*) AS int) FROM par7 WHERE t = @p", ticks)
    assert int_row(1) in found


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(ticks=st.integers(min_value=0, max_value=TICKS_PER_DAY - 1), via_param=st.booleans())
def test_random_ticks_round_trip(raw: RawClient, ticks: int, via_param: bool) -> None:
    batch(raw, "IF OBJECT_ID('prop7') IS NULL CREATE TABLE prop7 (t time(7)); DELETE FROM prop7")
    if via_param:
        _rpc(raw, "INSERT INTO prop7 VALUES (@p)", ticks)
    else:
        batch(raw, f"INSERT INTO prop7 VALUES ('{_text(ticks)}')")
    reply = batch(raw, "SELECT t, CAST(t AS varchar(30)) FROM prop7")
    assert _text(ticks).encode() in reply
    assert b"\x05" + ticks.to_bytes(5, "little") in reply


def _encoded(arr: pa.Array, sql_type: SqlType) -> list[bytes]:
    cells: list[bytes] = encode_column(arr, sql_type, None).to_pylist()
    return cells


@settings(max_examples=60, deadline=None)
@given(day=NS_DAYS, ticks=st.integers(min_value=0, max_value=TICKS_PER_DAY - 1))
def test_encoder_sends_exact_ticks_from_nanosecond_arrays(day: int, ticks: int) -> None:
    nanos = (day * TICKS_PER_DAY + ticks) * 100
    time_part = ticks.to_bytes(5, "little")
    date_part = (day + DAYS_0001_TO_1970).to_bytes(3, "little")
    time7 = pa.array([ticks * 100], pa.time64("ns"))
    assert _encoded(time7, SqlType("time", scale=7)) == [b"\x05" + time_part]
    stamp = pa.array([nanos], pa.timestamp("ns"))
    assert _encoded(stamp, SqlType("datetime2", scale=7)) == [b"\x08" + time_part + date_part]
    offset = pa.StructArray.from_arrays(
        [stamp, pa.array([-90], pa.int16())], names=["utc", "offset"]
    )
    assert _encoded(offset, SqlType("datetimeoffset", scale=7)) == [
        b"\x0a" + time_part + date_part + struct.pack("<h", -90)
    ]
    scale3 = (ticks // 10_000).to_bytes(4, "little")
    assert _encoded(stamp, SqlType("datetime2", scale=3)) == [b"\x07" + scale3 + date_part]


def _bulk_time_payload(scale: int, count: int) -> bytes:
    size = 3 if scale <= 2 else 4 if scale <= 4 else 5
    name = "t".encode("utf-16-le")
    metadata = b"\x81\x01\x00" + bytes(6) + bytes([0x29, scale, 1]) + name
    return metadata + b"\xd1" + bytes([size]) + count.to_bytes(size, "little") + b"\xfd"


def test_bulk_load_decodes_time7_exactly() -> None:
    rows = decode_bulk(_bulk_time_payload(7, 452_961_234_567))
    assert rows.columns[0].duckdb_type == "TIME_NS"
    assert rows.table.column(0).type == pa.time64("ns")
    assert rows.table.column(0).cast(pa.int64()).to_pylist() == [45_296_123_456_700]
    lower = decode_bulk(_bulk_time_payload(3, 45_296_123))
    assert lower.table.column(0).type == pa.time64("us")


def test_bulk_load_stores_time7_exactly(raw: RawClient) -> None:
    batch(raw, "CREATE TABLE bulk7 (t time(7), t3 time(3))")
    batch(raw, "INSERT BULK bulk7 (t time(7), t3 time(3))")
    name = "t".encode("utf-16-le")
    columns = bytes(6) + bytes([0x29, 7, 1]) + name + bytes(6) + bytes([0x29, 3, 1]) + name
    row = b"\xd1\x05" + (452_961_234_567).to_bytes(5, "little")
    row += b"\x04" + (45_296_123).to_bytes(4, "little")
    raw.send(PacketType.BULK_LOAD, b"\x81\x02\x00" + columns + row + b"\xfd" + bytes(12))
    assert error_numbers(raw.read_message()) == []
    reply = batch(raw, "SELECT CAST(t AS varchar(30)), CAST(t3 AS varchar(30)) FROM bulk7")
    assert b"12:34:56.1234567" in reply and b"12:34:56.123" in reply


MIXED = [
    ("SELECT COALESCE(t7, t3) FROM mix7", "12:34:56.1234567"),
    ("SELECT ISNULL(t3, t7) FROM mix7", "12:00:00.1230000"),
    ("SELECT CASE WHEN t7 > t3 THEN t7 ELSE t3 END FROM mix7", "12:34:56.1234567"),
    ("SELECT IIF(t7 > t3, t3, t7) FROM mix7", "12:00:00.1230000"),
    ("SELECT a.t7 FROM mix7 a JOIN mix7 b ON a.t7 > b.t3", "12:34:56.1234567"),
    ("SELECT t7 FROM mix7 WHERE t7 = (SELECT MAX(t7) FROM mix7)", "12:34:56.1234567"),
    ("SELECT t7 FROM mix7 WHERE t7 IN ('12:34:56.1234567', '01:00')", "12:34:56.1234567"),
    ("SELECT t7 FROM mix7 WHERE t7 BETWEEN t3 AND '13:00'", "12:34:56.1234567"),
    ("SELECT DATEADD(minute, 90, t7) FROM mix7", "14:04:56.1234567"),
    ("SELECT DATEADD(ns, -100, t7) FROM mix7", "12:34:56.1234566"),
    ("SELECT DATEADD(hour, 12, t7) FROM mix7", "00:34:56.1234567"),
    ("SELECT t7 FROM mix7 UNION ALL SELECT t3 FROM mix7 ORDER BY 1 DESC", "12:34:56.1234567"),
]


@pytest.fixture(scope="module")
def mssql_python(emulator: RunningEmulator) -> Iterator[Any]:
    driver = next(d for d in DRIVERS if d.name == "mssql-python")
    connection = driver.connect(emulator)
    cur = connection.cursor()
    cur.execute(
        "CREATE TABLE mix7 (t7 time(7), t3 time(3)); "
        "INSERT INTO mix7 VALUES ('12:34:56.1234567', '12:00:00.123')"
    )
    connection.commit()
    yield connection
    connection.close()


@pytest.mark.parametrize(("sql", "expected"), MIXED, ids=[m[0] for m in MIXED])
def test_time7_mixes_with_other_scales(mssql_python: Any, sql: str, expected: str) -> None:
    # The first value as the server's text, seven digits when the result is time(7).
    text = _scalar(mssql_python, f"SELECT TOP 1 CAST(v AS varchar(30)) FROM ({sql}) AS q(v)")
    assert text.ljust(16, "0") == expected
