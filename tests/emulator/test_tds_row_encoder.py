"""Row encoding: every type's wire bytes decode back to the exact value (and NBCROW for NULLs)."""

from __future__ import annotations

import datetime as dt
import decimal
import random
import struct
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
from mssql_emulator.tds.row_encoder import chunks, encode_batch, encode_column
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


# A reference ROW/NBCROW encoder, one Python value at a time, for a few representative
# types: fixed-width N types, short and wide (u16-length) text, and PLP (max) values.
def _plp(data: bytes) -> bytes:
    chunk = struct.pack("<I", len(data)) + data if data else b""
    return struct.pack("<Q", len(data)) + chunk + b"\x00\x00\x00\x00"


REFERENCE: dict[str, tuple[SqlType, pa.DataType, Any, Any]] = {
    "int": (
        SqlType("int"),
        pa.int32(),
        st.integers(-(2**31), 2**31 - 1),
        lambda v: b"\x04" + struct.pack("<i", v),
    ),
    "bigint": (
        SqlType("bigint"),
        pa.int64(),
        st.integers(-(2**63), 2**63 - 1),
        lambda v: b"\x08" + struct.pack("<q", v),
    ),
    "bit": (SqlType("bit"), pa.bool_(), st.booleans(), lambda v: b"\x01" + bytes([v])),
    "float": (
        SqlType("float"),
        pa.float64(),
        st.floats(allow_nan=False),
        lambda v: b"\x08" + struct.pack("<d", v),
    ),
    "nvarchar": (
        SqlType("nvarchar", length=20),
        pa.string(),
        st.text(max_size=20),
        lambda v: struct.pack("<H", len(v.encode("utf-16-le"))) + v.encode("utf-16-le"),
    ),
    "wide_varchar": (
        SqlType("varchar", length=400),
        pa.large_string(),
        st.text(alphabet="ab c", max_size=400),
        lambda v: struct.pack("<H", len(v)) + v.encode("ascii"),
    ),
    "nvarchar_max": (
        SqlType("nvarchar", length=-1),
        pa.string(),
        st.text(max_size=200),
        lambda v: _plp(v.encode("utf-16-le")),
    ),
    "varbinary_max": (
        SqlType("varbinary", length=-1),
        pa.binary(),
        st.binary(max_size=40),
        _plp,
    ),
}


def reference_rows(kinds: list[str], columns: list[list[Any]]) -> bytes:
    out = bytearray()
    for row in zip(*columns, strict=True):
        nulls = [value is None for value in row]
        if any(nulls):
            bitmap = np.packbits(np.array(nulls), bitorder="little").tobytes()
            out += b"\xd2" + bitmap
        else:
            out += b"\xd1"
        for kind, value in zip(kinds, row, strict=True):
            if value is not None:
                out += REFERENCE[kind][3](value)
    return bytes(out)


def arrow_column(kind: str, values: list[Any], null_slots_own_bytes: bool) -> pa.Array:
    arrow_type = REFERENCE[kind][1]
    if not (null_slots_own_bytes and pa.types.is_string(arrow_type)):
        return pa.array(values, arrow_type)
    filled = pa.array([v if v is not None else "left over" for v in values], arrow_type)
    validity = pa.array([v is not None for v in values]).buffers()[1]
    return pa.Array.from_buffers(
        arrow_type, len(values), [validity, filled.buffers()[1], filled.buffers()[2]]
    )


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_batches_with_nulls_match_the_reference_encoder(data: st.DataObject) -> None:
    kinds = data.draw(st.lists(st.sampled_from(sorted(REFERENCE)), min_size=1, max_size=7))
    rows = data.draw(st.integers(1, 25))
    columns = []
    for kind in kinds:
        values = REFERENCE[kind][2]
        if data.draw(st.booleans()):
            values = st.one_of(st.none(), values)
        columns.append(data.draw(st.lists(values, min_size=rows, max_size=rows)))
    own_bytes = data.draw(st.booleans())
    batch = pa.RecordBatch.from_arrays(
        [
            arrow_column(kind, values, own_bytes)
            for kind, values in zip(kinds, columns, strict=True)
        ],
        names=[f"c{i}" for i in range(len(kinds))],
    )
    start = data.draw(st.integers(0, rows - 1))
    stop = data.draw(st.integers(start + 1, rows))
    types = [REFERENCE[kind][0] for kind in kinds]
    sliced = [values[start:stop] for values in columns]
    assert encode_batch(types, batch.slice(start, stop - start)) == reference_rows(kinds, sliced)


def test_chunked_encoding_of_a_large_batch_matches_the_reference() -> None:
    rows = 70_000
    ints = [None if i % 7 == 0 else i * 31 - 10**6 for i in range(rows)]
    texts = [None if i % 5 == 0 else "é" * (i % 23) for i in range(rows)]
    batch = pa.record_batch({"i": pa.array(ints, pa.int32()), "s": pa.array(texts)})
    types = [SqlType("int"), SqlType("nvarchar", length=30)]
    pieces = chunks(batch)
    assert len(pieces) > 1
    encoded = b"".join(encode_batch(types, piece) for piece in pieces)
    assert encoded == reference_rows(["int", "nvarchar"], [ints, texts])


def test_a_batch_of_similar_rows_matches_the_reference() -> None:
    # Rows of similar length take the window copies (short batches mostly take byte copies);
    # columns without NULLs make fixed blocks.
    rng = random.Random(3)
    kinds = ["int", "nvarchar", "bigint", "wide_varchar", "bit", "nvarchar_max", "float"]
    rows = 400

    def value(kind: str, row: int) -> Any:
        if kind in ("bigint", "nvarchar_max") and row % 7 == 0:
            return None
        if kind in ("int", "bigint"):
            return rng.randint(-(2**31), 2**31 - 1)
        if kind == "bit":
            return rng.random() < 0.5
        if kind == "float":
            return rng.uniform(-1e9, 1e9)
        if kind == "wide_varchar":
            return "ab c"[rng.randint(0, 3)] * rng.randint(0, 300)
        return "é𝄞x"[rng.randint(0, 2)] * rng.randint(0, 20)

    columns = [[value(kind, row) for row in range(rows)] for kind in kinds]
    batch = pa.RecordBatch.from_arrays(
        [pa.array(values, REFERENCE[kind][1]) for kind, values in zip(kinds, columns, strict=True)],
        names=kinds,
    )
    types = [REFERENCE[kind][0] for kind in kinds]
    assert encode_batch(types, batch) == reference_rows(kinds, columns)
