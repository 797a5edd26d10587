"""Row encoding: every type's wire bytes decode back to the exact value (and NBCROW for NULLs)."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mssql_emulator.contract import SqlType
from mssql_emulator.tds.params import read_typed_value
from mssql_emulator.tds.reader import ByteReader
from mssql_emulator.tds.row_encoder import encode_batch, encode_column
from mssql_emulator.tds.tokens import type_info

D = decimal.Decimal
UTC = dt.UTC


def roundtrip(sql_type: SqlType, arr: pa.Array) -> list[Any]:
    cells = encode_column(arr, sql_type, None)
    values = []
    for cell in cells.to_pylist():
        reader = ByteReader(type_info(sql_type) + cell)
        _t, value = read_typed_value(reader)
        assert reader.remaining() == 0
        values.append(value)
    return values


CASES: list[tuple[SqlType, pa.Array, list[Any]]] = [
    (SqlType("tinyint"), pa.array([0, 255], pa.uint8()), [0, 255]),
    (SqlType("smallint"), pa.array([-32768, 32767], pa.int16()), [-32768, 32767]),
    (SqlType("int"), pa.array([-(2**31), 2**31 - 1], pa.int64()), [-(2**31), 2**31 - 1]),
    (SqlType("bigint"), pa.array([-(2**63), 2**63 - 1]), [-(2**63), 2**63 - 1]),
    (SqlType("bit"), pa.array([True, False]), [True, False]),
    (SqlType("real"), pa.array([1.5, -(2.0**100)], pa.float32()), [1.5, -(2.0**100)]),
    (SqlType("float"), pa.array([0.1, -1e308]), [0.1, -1e308]),
    (
        SqlType("decimal", precision=38, scale=10),
        pa.array(
            [D("-1234567890123456789012345678.0123456789"), D("0E-10")], pa.decimal128(38, 10)
        ),
        [D("-1234567890123456789012345678.0123456789"), D("0E-10")],
    ),
    (
        SqlType("numeric", precision=5, scale=2),
        pa.array([D("-999.99"), D("1.50")], pa.decimal128(5, 2)),
        [D("-999.99"), D("1.50")],
    ),
    (
        SqlType("money"),
        pa.array([D("-922337203685477.5808"), D("922337203685477.5807")], pa.decimal128(19, 4)),
        [D("-922337203685477.5808"), D("922337203685477.5807")],
    ),
    (
        SqlType("smallmoney"),
        pa.array([D("-214748.3648"), D("214748.3647")], pa.decimal128(10, 4)),
        [D("-214748.3648"), D("214748.3647")],
    ),
    (SqlType("nvarchar", length=20), pa.array(["héllo", "𝄞 clef", ""]), ["héllo", "𝄞 clef", ""]),
    (SqlType("nvarchar", length=-1), pa.array(["x" * 10000, ""]), ["x" * 10000, ""]),
    (SqlType("nchar", length=3), pa.array(["abc"]), ["abc"]),
    (SqlType("varchar", length=10), pa.array(["café", "a€"]), ["café", "a€"]),
    (SqlType("varchar", length=-1), pa.array(["big" * 3000]), ["big" * 3000]),
    (SqlType("char", length=2), pa.array(["ab"]), ["ab"]),
    (SqlType("varbinary", length=4), pa.array([b"\x00\xff", b""]), [b"\x00\xff", b""]),
    (SqlType("varbinary", length=-1), pa.array([b"\x01" * 9000]), [b"\x01" * 9000]),
    (SqlType("binary", length=2), pa.array([b"\xab\xcd"]), [b"\xab\xcd"]),
    (
        SqlType("date"),
        pa.array([dt.date(1, 1, 1), dt.date(9999, 12, 31), dt.date(2024, 2, 29)]),
        [dt.date(1, 1, 1), dt.date(9999, 12, 31), dt.date(2024, 2, 29)],
    ),
    (
        SqlType("time", scale=7),
        pa.array([dt.time(23, 59, 59, 999999), dt.time(0)], pa.time64("us")),
        [dt.time(23, 59, 59, 999999), dt.time(0)],
    ),
    (
        SqlType("time", scale=0),
        pa.array([dt.time(12, 34, 56)], pa.time64("us")),
        [dt.time(12, 34, 56)],
    ),
    (
        SqlType("datetime2", scale=3),
        pa.array(
            [dt.datetime(2020, 1, 2, 3, 4, 5, 123000), dt.datetime(1, 1, 1)], pa.timestamp("us")
        ),
        [dt.datetime(2020, 1, 2, 3, 4, 5, 123000), dt.datetime(1, 1, 1)],
    ),
    (
        SqlType("datetime2", scale=6),
        pa.array([dt.datetime(9999, 12, 31, 23, 59, 59, 999999)], pa.timestamp("us")),
        [dt.datetime(9999, 12, 31, 23, 59, 59, 999999)],
    ),
    (
        SqlType("datetime"),
        pa.array(
            [dt.datetime(1753, 1, 1), dt.datetime(2020, 5, 6, 7, 8, 9, 3333)], pa.timestamp("us")
        ),
        [dt.datetime(1753, 1, 1), dt.datetime(2020, 5, 6, 7, 8, 9, 3333)],
    ),
    (
        SqlType("smalldatetime"),
        pa.array([dt.datetime(2079, 6, 6, 23, 59)], pa.timestamp("us")),
        [dt.datetime(2079, 6, 6, 23, 59)],
    ),
    (
        SqlType("uniqueidentifier"),
        pa.array(["6f9619ff-8b86-d011-b42d-00c04fc964ff"]),
        [uuid.UUID("6f9619ff-8b86-d011-b42d-00c04fc964ff")],
    ),
]


@pytest.mark.parametrize(("sql_type", "arr", "expected"), CASES, ids=lambda x: str(x)[:30])
def test_every_type_round_trips_exactly(
    sql_type: SqlType, arr: pa.Array, expected: list[Any]
) -> None:
    assert roundtrip(sql_type, arr) == expected


def test_datetimeoffset_keeps_utc_instant_and_offset() -> None:
    struct_type = pa.struct([("utc", pa.timestamp("us")), ("offset", pa.int16())])
    arr = pa.array([{"utc": dt.datetime(2020, 1, 1, 10, 0), "offset": -330}], struct_type)
    (value,) = roundtrip(SqlType("datetimeoffset", scale=7), arr)
    assert value == dt.datetime(2020, 1, 1, 10, 0, tzinfo=UTC)
    assert value.utcoffset() == dt.timedelta(minutes=-330)
    assert value.hour == 4 and value.minute == 30


def test_nulls_use_nbcrow_and_full_rows_use_row() -> None:
    batch = pa.record_batch({"a": pa.array([1, None], pa.int32()), "b": pa.array(["x", None])})
    data = encode_batch([SqlType("int"), SqlType("nvarchar", length=5)], batch)
    assert data == bytes.fromhex("d1040100000002007800d203")


def test_a_sliced_batch_encodes_only_its_rows() -> None:
    batch = pa.record_batch({"s": pa.array(["aa", "bbb", None, "d"])}).slice(1, 2)
    data = encode_batch([SqlType("varchar", length=5)], batch)
    assert data == bytes.fromhex("d10300626262d201")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=30)), min_size=1, max_size=40))
def test_unicode_text_with_nulls_round_trips(values: list[str | None]) -> None:
    arr = pa.array(values, pa.string())
    valid = np.array([v is not None for v in values])
    cells = encode_column(arr, SqlType("nvarchar", length=-1), valid).to_pylist()
    for value, cell in zip(values, cells, strict=True):
        if value is None:
            assert cell == b""
            continue
        reader = ByteReader(type_info(SqlType("nvarchar", length=-1)) + cell)
        assert read_typed_value(reader)[1] == value


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.decimals(
            min_value=-(10**14), max_value=10**14, places=4, allow_nan=False, allow_infinity=False
        ),
        min_size=1,
        max_size=20,
    )
)
def test_decimal_19_4_round_trips(values: list[D]) -> None:
    arr = pa.array(values, pa.decimal128(19, 4))
    assert roundtrip(SqlType("decimal", precision=19, scale=4), arr) == values
