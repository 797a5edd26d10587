"""RPC parameter decoding for every wire type, including the fixed-length and legacy ones."""

from __future__ import annotations

import datetime as dt
import decimal
import struct
import uuid
from typing import Any

import pytest

from mssql_emulator.contract import SqlType
from mssql_emulator.tds.definitions import parse_definitions
from mssql_emulator.tds.packets import ProtocolError
from mssql_emulator.tds.params import read_param, read_typed_value
from mssql_emulator.tds.reader import ByteReader

COLL = bytes.fromhex("0904d00034")
D = decimal.Decimal

CASES: list[tuple[str, bytes, SqlType, Any]] = [
    ("INT1", b"\x30\xff", SqlType("tinyint"), 255),
    ("BIT", b"\x32\x01", SqlType("bit"), True),
    ("INT2", b"\x34" + struct.pack("<h", -2), SqlType("smallint"), -2),
    ("INT4", b"\x38" + struct.pack("<i", 7), SqlType("int"), 7),
    ("INT8", b"\x7f" + struct.pack("<q", -(2**63)), SqlType("bigint"), -(2**63)),
    ("FLT4", b"\x3b" + struct.pack("<f", 0.5), SqlType("real"), 0.5),
    ("FLT8", b"\x3e" + struct.pack("<d", 0.1), SqlType("float"), 0.1),
    ("MONEY", b"\x3c" + struct.pack("<iI", -1, 0xFFFFFFFF - 9999), SqlType("money"), D("-1.0000")),
    ("MONEY4", b"\x7a" + struct.pack("<i", 12345), SqlType("smallmoney"), D("1.2345")),
    (
        "DATETIME",
        b"\x3d" + struct.pack("<iI", 1, 300),
        SqlType("datetime"),
        dt.datetime(1900, 1, 2, 0, 0, 1),
    ),
    (
        "DATETIM4",
        b"\x3a" + struct.pack("<HH", 2, 61),
        SqlType("smalldatetime"),
        dt.datetime(1900, 1, 3, 1, 1),
    ),
    ("NULL", b"\x1f", SqlType("int"), None),
    ("INTN null", b"\x26\x04\x00", SqlType("int"), None),
    ("BITN", b"\x68\x01\x01\x00", SqlType("bit"), False),
    ("FLTN", b"\x6d\x08\x08" + struct.pack("<d", -2.5), SqlType("float"), -2.5),
    ("MONEYN", b"\x6e\x08\x08" + struct.pack("<iI", 0, 15000), SqlType("money"), D("1.5000")),
    ("DATETIMN null", b"\x6f\x08\x00", SqlType("datetime"), None),
    (
        "DECIMALN",
        b"\x6a\x11\x26\x0a\x11\x00" + (12345678901234567890).to_bytes(16, "little"),
        SqlType("decimal", precision=38, scale=10),
        D("-1234567890.1234567890"),
    ),
    ("NUMERICN null", b"\x6c\x05\x05\x02\x00", SqlType("numeric", precision=5, scale=2), None),
    (
        "GUID",
        b"\x24\x10\x10" + uuid.UUID(int=5).bytes_le,
        SqlType("uniqueidentifier"),
        uuid.UUID(int=5),
    ),
    (
        "DATEN",
        b"\x28\x03" + (738000).to_bytes(3, "little"),
        SqlType("date"),
        dt.date(1, 1, 1) + dt.timedelta(days=738000),
    ),
    (
        "TIMEN(7)",
        b"\x29\x07\x05" + (12_345_678_901).to_bytes(5, "little"),
        SqlType("time", scale=7),
        "00:20:34.5678901",
    ),
    (
        "TIMEN(7) whole microseconds",
        b"\x29\x07\x05" + (12_345_678_900).to_bytes(5, "little"),
        SqlType("time", scale=7),
        dt.time(0, 20, 34, 567890),
    ),
    (
        "DATETIME2N(0)",
        b"\x2a\x00\x06" + (3661).to_bytes(3, "little") + (0).to_bytes(3, "little"),
        SqlType("datetime2", scale=0),
        dt.datetime(1, 1, 1, 1, 1, 1),
    ),
    (
        "DATETIMEOFFSETN(3)",
        b"\x2b\x03\x09"
        + (3_600_000).to_bytes(4, "little")
        + (738000).to_bytes(3, "little")
        + struct.pack("<h", 120),
        SqlType("datetimeoffset", scale=3),
        (dt.datetime(1, 1, 1, tzinfo=dt.UTC) + dt.timedelta(days=738000, hours=1)).astimezone(
            dt.timezone(dt.timedelta(hours=2))
        ),
    ),
    ("BIGVARCHR", b"\xa7\x10\x00" + COLL + b"\x03\x00caf", SqlType("varchar", length=16), "caf"),
    (
        "BIGCHAR cp1252",
        b"\xaf\x02\x00" + COLL + b"\x02\x00\xe9\x80",
        SqlType("char", length=2),
        "é€",
    ),
    (
        "NVARCHAR",
        b"\xe7\x08\x00" + COLL + b"\x04\x00" + "𝄞".encode("utf-16-le"),
        SqlType("nvarchar", length=4),
        "𝄞",
    ),
    ("NVARCHAR null", b"\xe7\x08\x00" + COLL + b"\xff\xff", SqlType("nvarchar", length=4), None),
    (
        "NVARCHAR(max) PLP 2 chunks",
        b"\xe7\xff\xff"
        + COLL
        + struct.pack("<Q", 6)
        + b"\x02\x00\x00\x00a\x00"
        + b"\x04\x00\x00\x00b\x00c\x00"
        + b"\x00\x00\x00\x00",
        SqlType("nvarchar", length=-1),
        "abc",
    ),
    (
        "NVARCHAR(max) null",
        b"\xe7\xff\xff" + COLL + b"\xff" * 8,
        SqlType("nvarchar", length=-1),
        None,
    ),
    ("BIGVARBIN", b"\xa5\x04\x00\x02\x00\x00\xff", SqlType("varbinary", length=4), b"\x00\xff"),
    ("BIGBINARY", b"\xad\x02\x00\x02\x00\xab\xcd", SqlType("binary", length=2), b"\xab\xcd"),
    (
        "NTEXT",
        b"\x63" + struct.pack("<I", 100) + COLL + struct.pack("<I", 4) + "hi".encode("utf-16-le"),
        SqlType("nvarchar", length=-1),
        "hi",
    ),
    (
        "TEXT",
        b"\x23" + struct.pack("<I", 100) + COLL + struct.pack("<I", 2) + b"ok",
        SqlType("varchar", length=-1),
        "ok",
    ),
    (
        "IMAGE null",
        b"\x22" + struct.pack("<I", 100) + b"\xff\xff\xff\xff",
        SqlType("varbinary", length=-1),
        None,
    ),
]


@pytest.mark.parametrize(
    ("raw", "sql_type", "value"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_every_wire_type_decodes(raw: bytes, sql_type: SqlType, value: Any) -> None:
    reader = ByteReader(raw)
    assert read_typed_value(reader) == (sql_type, value)
    assert reader.remaining() == 0


def test_named_output_param() -> None:
    reader = ByteReader(b"\x07" + "@handle".encode("utf-16-le") + b"\x01\x26\x04\x00")
    param = read_param(reader)
    assert (param.name, param.output, param.value) == ("@handle", True, None)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x26",
        b"\x26\x04\x04\x01",
        b"\xf1\x00",
        b"\x29\x09\x00",
        b"\x6a\x11\x30\x0a\x00",
        b"\x24\x10\x05abcde",
    ],
)
def test_malformed_values_are_protocol_errors(raw: bytes) -> None:
    with pytest.raises(ProtocolError):
        read_typed_value(ByteReader(raw))


def test_definitions_with_commas_inside_types() -> None:
    defs = parse_definitions("@P1 decimal(19,4),@P2 nvarchar(max) OUTPUT, @P3 datetime2(3)")
    assert [(d.name, str(d.type), d.output) for d in defs] == [
        ("@P1", "decimal(19,4)", False),
        ("@P2", "nvarchar(max)", True),
        ("@P3", "datetime2(3)", False),
    ]
