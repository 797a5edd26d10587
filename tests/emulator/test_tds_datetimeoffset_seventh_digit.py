"""datetimeoffset keeps all seven fractional digits (100 ns ticks) through literals,
parameters, storage, comparisons, DATEADD, DATEPART, conversions, variables, bulk load
and the wire; lower scales round half up, as SQL Server does.

Python's ``datetime`` stops at microseconds, so the digits are checked as the server's own
text (``CAST(x AS varchar(40))`` is ``'2020-01-02 03:04:05.1234567 +05:30'``) and as the
raw DATETIMEOFFSETN cells of the reply: a length byte, then for scale 7 five little-endian
bytes of 100 ns since midnight UTC, three of days since 0001-01-01 (UTC) and two of the
offset in minutes.  Parameters with seven digits go out as raw RPC requests.
"""

from __future__ import annotations

import datetime as dt
import itertools
import struct

import pytest
from drivers import DRIVERS, Driver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tds_client import (
    RawClient,
    batch,
    checked,
    error_numbers,
    executesql,
    in_order,
    int_row,
    varchar_cell,
)

from mssql_emulator.tds.packets import PacketType
from mssql_emulator.testing import RunningEmulator

TICKS_PER_DAY = 864_000_000_000
TICKS_PER_MINUTE = 600_000_000
LAST_DAY = 3_652_058  # 9999-12-31 as days since 0001-01-01

VALUE = "2020-01-02 03:04:05.1234567 +05:30"
OFFSET = 330
# The same instant in UTC: 2020-01-01 21:34:05.1234567.
UTC_DAY = dt.date(2020, 1, 1).toordinal() - 1
UTC_TICKS = (21 * 3600 + 34 * 60 + 5) * 10_000_000 + 1_234_567

_names = itertools.count()


def _local_text(day: int, ticks: int, offset: int) -> str:
    """SQL Server's text of a datetimeoffset(7) given its UTC day and ticks."""
    total = day * TICKS_PER_DAY + ticks + offset * TICKS_PER_MINUTE
    local_day, rest = divmod(total, TICKS_PER_DAY)
    seconds, fraction = divmod(rest, 10_000_000)
    minutes, second = divmod(seconds, 60)
    date = dt.date.fromordinal(local_day + 1).isoformat()
    sign = "-" if offset < 0 else "+"
    zone = f"{sign}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"
    clock = f"{minutes // 60:02d}:{minutes % 60:02d}:{second:02d}.{fraction:07d}"
    return f"{date} {clock} {zone}"


def _cell(day: int, ticks: int, offset: int) -> bytes:
    """One DATETIMEOFFSETN(7) cell: length 10, 5 bytes of ticks, 3 of days, 2 of offset."""
    return b"\x0a" + ticks.to_bytes(5, "little") + day.to_bytes(3, "little") + _offset(offset)


def _offset(minutes: int) -> bytes:
    return struct.pack("<h", minutes)


def _metadata(name: str, scale: int) -> bytes:
    """The type info and name of a DATETIMEOFFSETN column in COLMETADATA."""
    return bytes([0x2B, scale, len(name)]) + name.encode("utf-16-le")


def _param(day: int, ticks: int, offset: int) -> bytes:
    """An unnamed input parameter of type DATETIMEOFFSETN, scale 7, length 10."""
    return b"\x00\x00\x2b\x07" + _cell(day, ticks, offset)


def _rpc(client: RawClient, sql: str, day: int, ticks: int, offset: int) -> bytes:
    client.send(PacketType.RPC, executesql(sql, "datetimeoffset(7)", _param(day, ticks, offset)))
    return checked(client.read_message(), sql)


def _table(prefix: str, columns: str, raw: RawClient) -> str:
    name = f"{prefix}_{next(_names)}"
    batch(raw, f"CREATE TABLE {name} ({columns})")
    return name


# Storage and the wire -----------------------------------------------------------------


@pytest.mark.parametrize("declared", ["datetimeoffset", "datetimeoffset(7)"])
def test_literal_keeps_seven_digits(raw: RawClient, declared: str) -> None:
    reply = batch(
        raw,
        f"SELECT CAST('{VALUE}' AS {declared}) AS v, CAST(CAST('{VALUE}' AS {declared}) "
        "AS varchar(40))",
    )
    assert _metadata("v", 7) in reply
    assert _cell(UTC_DAY, UTC_TICKS, OFFSET) + varchar_cell(VALUE) in reply


def test_stored_values_order_and_compare_by_the_seventh_digit(raw: RawClient) -> None:
    table = _table("dto7", "k int, d datetimeoffset", raw)
    batch(
        raw,
        f"INSERT INTO {table} VALUES (1, '2020-01-02 03:04:05.1234568 +05:30'), (2, '{VALUE}'), "
        # the same instant as k = 2, written in UTC
        "(3, '2020-01-01 21:34:05.1234567 +00:00')",
    )
    ordered = batch(raw, f"SELECT k FROM {table} ORDER BY d, k")
    assert in_order(ordered, int_row(2), int_row(3), int_row(1))
    same = batch(raw, f"SELECT CAST(COUNT(*) AS int) FROM {table} WHERE d = '{VALUE}'")
    assert int_row(2) in same
    later = batch(raw, f"SELECT k FROM {table} WHERE d > '{VALUE}'")
    assert int_row(1) in later and int_row(2) not in later
    texts = batch(raw, f"SELECT CAST(d AS varchar(40)) FROM {table} WHERE k = 3")
    assert varchar_cell("2020-01-01 21:34:05.1234567 +00:00") in texts


ROUNDINGS = [
    ("datetimeoffset(6)", VALUE, "2020-01-02 03:04:05.123457 +05:30"),
    ("datetimeoffset(3)", VALUE, "2020-01-02 03:04:05.123 +05:30"),
    ("datetimeoffset(0)", VALUE, "2020-01-02 03:04:05 +05:30"),
    # rounding carries into the next second, day and year
    (
        "datetimeoffset(6)",
        "2020-12-31 23:59:59.9999995 -01:00",
        "2021-01-01 00:00:00.000000 -01:00",
    ),
]


@pytest.mark.parametrize(
    ("column", "stored", "expected"), ROUNDINGS, ids=["s6", "s3", "s0", "carry"]
)
def test_lower_scales_round_half_up(
    raw: RawClient, column: str, stored: str, expected: str
) -> None:
    table = _table("dto_low", f"d {column}", raw)
    batch(raw, f"INSERT INTO {table} VALUES ('{stored}')")
    reply = batch(raw, f"SELECT CAST(d AS varchar(40)) FROM {table}")
    assert varchar_cell(expected) in reply


def test_lower_scale_cells_count_their_own_units(raw: RawClient) -> None:
    reply = batch(raw, f"SELECT CAST('{VALUE}' AS datetimeoffset(3)) AS v")
    assert _metadata("v", 3) in reply
    count = UTC_TICKS // 10_000  # milliseconds since midnight UTC: .123
    cell = b"\x09" + count.to_bytes(4, "little") + UTC_DAY.to_bytes(3, "little")
    assert cell + _offset(OFFSET) in reply


# Parameters ---------------------------------------------------------------------------


def test_parameter_keeps_seven_digits(raw: RawClient) -> None:
    reply = _rpc(raw, "SELECT @p AS v, CAST(@p AS varchar(40))", UTC_DAY, UTC_TICKS, OFFSET)
    assert _cell(UTC_DAY, UTC_TICKS, OFFSET) + varchar_cell(VALUE) in reply


def test_parameter_is_stored_and_compared_exactly(raw: RawClient) -> None:
    table = _table("dto7p", "d datetimeoffset", raw)
    _rpc(raw, f"INSERT INTO {table} VALUES (@p)", UTC_DAY, UTC_TICKS, OFFSET)
    stored = batch(raw, f"SELECT CAST(d AS varchar(40)) FROM {table}")
    assert varchar_cell(VALUE) in stored
    for ticks, count in ((UTC_TICKS, 1), (UTC_TICKS + 1, 0), (UTC_TICKS - 1, 0)):
        found = _rpc(
            raw, f"SELECT CAST(COUNT(*) AS int) FROM {table} WHERE d = @p", UTC_DAY, ticks, 0
        )
        assert int_row(count) in found, ticks


def test_parameter_at_the_edges_of_the_range(raw: RawClient) -> None:
    last = _rpc(raw, "SELECT CAST(@p AS varchar(40))", LAST_DAY, TICKS_PER_DAY - 1, 0)
    assert varchar_cell("9999-12-31 23:59:59.9999999 +00:00") in last
    first = _rpc(raw, "SELECT CAST(@p AS varchar(40))", 0, 1, 14 * 60)
    assert varchar_cell("0001-01-01 14:00:00.0000001 +14:00") in first


# Expressions --------------------------------------------------------------------------

EXPRESSIONS = [
    ("DATEADD(ns, 100, x)", "2020-01-02 03:04:05.1234568 +05:30"),
    ("DATEADD(mcs, -1, x)", "2020-01-02 03:04:05.1234557 +05:30"),
    ("DATEADD(day, 1, x)", "2020-01-03 03:04:05.1234567 +05:30"),
    ("DATEADD(month, 1, x)", "2020-02-02 03:04:05.1234567 +05:30"),
    ("CAST(DATEPART(ns, x) AS varchar(40))", "123456700"),
    ("CAST(DATEPART(mcs, x) AS varchar(40))", "123456"),
    ("CAST(DATEPART(ms, x) AS varchar(40))", "123"),
    ("CAST(DATEPART(tz, x) AS varchar(40))", "330"),
    ("CAST(x AS datetime2)", "2020-01-02 03:04:05.1234567"),
    ("CAST(x AS time)", "03:04:05.1234567"),
    ("CAST(x AS datetime2(6))", "2020-01-02 03:04:05.123457"),
    (
        "CAST(CAST('2020-01-02 03:04:05.1234567' AS datetime2) AS datetimeoffset)",
        "2020-01-02 03:04:05.1234567 +00:00",
    ),
    ("SWITCHOFFSET(x, '+00:00')", "2020-01-01 21:34:05.1234567 +00:00"),
    ("SWITCHOFFSET(x, -60)", "2020-01-01 20:34:05.1234567 -01:00"),
    ("TODATETIMEOFFSET(CAST(x AS datetime2), '-03:00')", "2020-01-02 03:04:05.1234567 -03:00"),
]


@pytest.mark.parametrize(("expr", "expected"), EXPRESSIONS, ids=[e[0] for e in EXPRESSIONS])
def test_expressions_keep_the_seventh_digit(raw: RawClient, expr: str, expected: str) -> None:
    table = _table("dto7e", "x datetimeoffset", raw)
    batch(raw, f"INSERT INTO {table} VALUES ('{VALUE}')")
    reply = batch(raw, f"SELECT CAST({expr} AS varchar(40)) FROM {table}")
    assert varchar_cell(expected) in reply


def test_dateadd_past_the_range_is_an_error(raw: RawClient) -> None:
    reply = raw.query(
        "SELECT DATEADD(ns, 100, CAST('9999-12-31 23:59:59.9999999 +00:00' AS datetimeoffset))"
    )
    assert error_numbers(reply) == [517]
    assert int_row(1) in batch(raw, "SELECT 1")


def test_variables_hold_seven_digits(raw: RawClient) -> None:
    table = _table("dto7v", "x datetimeoffset", raw)
    batch(raw, f"INSERT INTO {table} VALUES ('{VALUE}')")
    reply = batch(
        raw,
        f"DECLARE @a datetimeoffset = '{VALUE}'; DECLARE @b datetimeoffset; "
        f"DECLARE @c datetimeoffset(3) = '{VALUE}'; "
        f"SELECT @b = x FROM {table}; "
        f"SELECT CAST(@a AS varchar(40)), CAST(@b AS varchar(40)), CAST(@c AS varchar(40)), "
        f"(SELECT CAST(COUNT(*) AS int) FROM {table} WHERE x = @b)",
    )
    three = varchar_cell("2020-01-02 03:04:05.123 +05:30")
    count = b"\x04" + struct.pack("<i", 1)  # the INTN(4) cell: @b finds its row
    assert varchar_cell(VALUE) + varchar_cell(VALUE) + three + count in reply


# Bulk load ----------------------------------------------------------------------------


def test_bulk_load_stores_seven_digits(raw: RawClient) -> None:
    table = _table("dto7b", "d datetimeoffset(7), d3 datetimeoffset(3)", raw)
    batch(raw, f"INSERT BULK {table} (d datetimeoffset(7), d3 datetimeoffset(3))")
    name = "d".encode("utf-16-le")
    columns = bytes(6) + bytes([0x2B, 7, 1]) + name + bytes(6) + bytes([0x2B, 3, 1]) + name
    scale3 = (
        b"\x09"
        + (UTC_TICKS // 10_000).to_bytes(4, "little")
        + UTC_DAY.to_bytes(3, "little")
        + _offset(OFFSET)
    )
    rows = b"\xd1" + _cell(UTC_DAY, UTC_TICKS, OFFSET) + scale3
    raw.send(PacketType.BULK_LOAD, b"\x81\x02\x00" + columns + rows + b"\xfd" + bytes(12))
    assert error_numbers(raw.read_message()) == []
    reply = batch(raw, f"SELECT d, CAST(d AS varchar(40)), CAST(d3 AS varchar(40)) FROM {table}")
    three = varchar_cell("2020-01-02 03:04:05.123 +05:30")
    assert _cell(UTC_DAY, UTC_TICKS, OFFSET) + varchar_cell(VALUE) + three in reply


# Properties ---------------------------------------------------------------------------

OFFSETS = st.integers(min_value=-14 * 60, max_value=14 * 60)
# UTC instants whose local time stays inside 0001-01-01..9999-12-31 for any offset.
DAYS = st.integers(min_value=1, max_value=LAST_DAY - 1)
TICKS = st.integers(min_value=0, max_value=TICKS_PER_DAY - 1)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(day=DAYS, ticks=TICKS, offset=OFFSETS, via_param=st.booleans())
def test_random_values_round_trip(
    emulator: RunningEmulator, day: int, ticks: int, offset: int, via_param: bool
) -> None:
    raw = RawClient(emulator.port)  # each example its own connection, so shrinking stays sound
    raw.login(emulator.user, emulator.password, emulator.database)
    text = _local_text(day, ticks, offset)
    try:
        batch(raw, "IF OBJECT_ID('prop_dto7') IS NULL CREATE TABLE prop_dto7 (d datetimeoffset)")
        batch(raw, "DELETE FROM prop_dto7")
        if via_param:
            _rpc(raw, "INSERT INTO prop_dto7 VALUES (@p)", day, ticks, offset)
        else:
            batch(raw, f"INSERT INTO prop_dto7 VALUES ('{text}')")
        reply = batch(raw, "SELECT d, CAST(d AS varchar(40)) FROM prop_dto7")
    finally:
        raw.close()
    assert _cell(day, ticks, offset) + varchar_cell(text) in reply


@pytest.mark.parametrize("driver", DRIVERS, ids=lambda d: d.name)
def test_every_driver_reads_the_seven_digit_text(emulator: RunningEmulator, driver: Driver) -> None:
    conn = driver.connect(emulator)
    try:
        cur = conn.cursor()
        cur.execute(f"SELECT CAST(CAST('{VALUE}' AS datetimeoffset) AS varchar(40))")
        assert cur.fetchall()[0][0] == VALUE
        # The drivers' own datetimes stop at microseconds; the instant and offset survive.
        cur.execute(f"SELECT CAST('{VALUE}' AS datetimeoffset)")
        value = cur.fetchall()[0][0]
        assert value.utcoffset() == dt.timedelta(minutes=OFFSET)
        assert abs(value - dt.datetime(2020, 1, 2, 3, 4, 5, 123457, value.tzinfo)) <= dt.timedelta(
            microseconds=1
        )
    finally:
        conn.close()
