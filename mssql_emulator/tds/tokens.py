"""Builders for the server's token stream (little-endian, TDS 7.4)."""

from __future__ import annotations

import struct
from enum import IntEnum, IntFlag

from mssql_emulator.contract import Column, SqlType

COLLATION = bytes.fromhex("0904d00034")  # SQL_Latin1_General_CP1_CI_AS
TDS_VERSION = 0x74000004
SERVER_NAME = "mssql_emulator"
PROGRAM_NAME = "Microsoft SQL Server"


class Token(IntEnum):
    RETURNSTATUS = 0x79
    COLMETADATA = 0x81
    ERROR = 0xAA
    INFO = 0xAB
    RETURNVALUE = 0xAC
    LOGINACK = 0xAD
    FEATUREEXTACK = 0xAE
    ROW = 0xD1
    NBCROW = 0xD2
    ENVCHANGE = 0xE3
    DONE = 0xFD
    DONEPROC = 0xFE
    DONEINPROC = 0xFF


class DoneStatus(IntFlag):
    FINAL = 0x00
    MORE = 0x01
    ERROR = 0x02
    INXACT = 0x04
    COUNT = 0x10
    ATTN = 0x20
    RPCINBATCH = 0x80
    SRVERROR = 0x100


class EnvChange(IntEnum):
    DATABASE = 1
    LANGUAGE = 2
    PACKET_SIZE = 4
    COLLATION = 7
    BEGIN_TRAN = 8
    COMMIT_TRAN = 9
    ROLLBACK_TRAN = 10


def b_varchar(text: str) -> bytes:
    data = text.encode("utf-16-le")
    return bytes([len(data) // 2]) + data


def us_varchar(text: str) -> bytes:
    data = text.encode("utf-16-le")
    return struct.pack("<H", len(data) // 2) + data


def _token(token: int, body: bytes) -> bytes:
    return struct.pack("<BH", token, len(body)) + body


def envchange_text(kind: EnvChange, new: str, old: str) -> bytes:
    return _token(Token.ENVCHANGE, bytes([kind]) + b_varchar(new) + b_varchar(old))


def envchange_bytes(kind: EnvChange, new: bytes, old: bytes) -> bytes:
    body = bytes([kind, len(new)]) + new + bytes([len(old)]) + old
    return _token(Token.ENVCHANGE, body)


def message(
    number: int, text: str, *, severity: int, state: int = 1, line: int = 1, procedure: str = ""
) -> bytes:
    """An ERROR token for severity > 10, an INFO token otherwise."""
    token = Token.ERROR if severity > 10 else Token.INFO
    body = (
        struct.pack("<iBB", number, state & 0xFF, severity & 0xFF)
        + us_varchar(text[:4000])
        + b_varchar(SERVER_NAME)
        + b_varchar(procedure)
        + struct.pack("<i", line)
    )
    return _token(token, body)


def loginack() -> bytes:
    body = (
        b"\x01"
        + struct.pack(">I", TDS_VERSION)
        + b_varchar(PROGRAM_NAME)
        + bytes([16, 0, 0x0F, 0xA0])
    )
    return _token(Token.LOGINACK, body)


def feature_ext_ack() -> bytes:
    return bytes([Token.FEATUREEXTACK, 0xFF])


def done(status: int, rowcount: int = 0, *, token: Token = Token.DONE, curcmd: int = 0) -> bytes:
    return struct.pack("<BHHQ", token, status, curcmd, rowcount)


def return_status(value: int) -> bytes:
    return struct.pack("<Bi", Token.RETURNSTATUS, value)


def return_value_int(ordinal: int, name: str, value: int | None) -> bytes:
    """RETURNVALUE of an int output parameter (the handle of sp_prepare/sp_prepexec)."""
    head = struct.pack("<BH", Token.RETURNVALUE, ordinal) + b_varchar(name)
    head += b"\x01" + struct.pack("<IH", 0, 0x0001) + b"\x26\x04"
    if value is None:
        return head + b"\x00"
    return head + b"\x04" + struct.pack("<i", value)


# --- TYPE_INFO ------------------------------------------------------------------------

_INT_SIZES = {"tinyint": 1, "smallint": 2, "int": 4, "bigint": 8}
_CHAR_TYPES = {"char": 0xAF, "varchar": 0xA7, "nchar": 0xEF, "nvarchar": 0xE7}
_BINARY_TYPES = {"binary": 0xAD, "varbinary": 0xA5}
_ALIASES = {
    "text": SqlType("varchar", length=-1),
    "ntext": SqlType("nvarchar", length=-1),
    "image": SqlType("varbinary", length=-1),
    "sysname": SqlType("nvarchar", length=128),
    "rowversion": SqlType("binary", length=8),
    "timestamp": SqlType("binary", length=8),
}


VARIANT_MAX_LENGTH = 8016


def decimal_size(precision: int) -> int:
    if precision <= 9:
        return 5
    if precision <= 19:
        return 9
    if precision <= 28:
        return 13
    return 17


def time_size(scale: int) -> int:
    return 3 if scale <= 2 else 4 if scale <= 4 else 5


def normalize(sql_type: SqlType) -> SqlType:
    """Fill defaults (precision, scale, length) so every type has one wire form."""
    name = sql_type.name.lower()
    if name in _ALIASES:
        return _ALIASES[name]
    if name == "sql_variant":
        return SqlType(name, base=normalize(sql_type.base) if sql_type.base else None)
    if name == "xml":
        return SqlType(name, length=-1)
    if name == "float" and sql_type.precision is not None and sql_type.precision <= 24:
        return SqlType("real")
    if name in ("decimal", "numeric"):
        precision = sql_type.precision if sql_type.precision else 18
        scale = sql_type.scale if sql_type.scale is not None else 0
        return SqlType(name, precision=min(max(precision, 1), 38), scale=min(scale, precision))
    if name in ("time", "datetime2", "datetimeoffset"):
        scale = sql_type.scale if sql_type.scale is not None else 7
        return SqlType(name, scale=min(max(scale, 0), 7))
    if name in _CHAR_TYPES or name in _BINARY_TYPES:
        length = sql_type.length if sql_type.length is not None else 1
        limit = 4000 if name in ("nchar", "nvarchar") else 8000
        if length > limit:
            length = -1
        return SqlType(name, length=length)
    known = {
        "bit",
        "real",
        "float",
        "money",
        "smallmoney",
        "date",
        "datetime",
        "smalldatetime",
        "uniqueidentifier",
        *_INT_SIZES,
    }
    if name in known:
        return SqlType(name)
    return SqlType("nvarchar", length=-1)


def type_info(sql_type: SqlType) -> bytes:
    t = normalize(sql_type)
    name = t.name
    if name in _INT_SIZES:
        return bytes([0x26, _INT_SIZES[name]])
    if name == "bit":
        return b"\x68\x01"
    if name == "real":
        return b"\x6d\x04"
    if name == "float":
        return b"\x6d\x08"
    if name in ("decimal", "numeric"):
        assert t.precision is not None and t.scale is not None
        code = 0x6A if name == "decimal" else 0x6C
        return bytes([code, decimal_size(t.precision), t.precision, t.scale])
    if name == "money":
        return b"\x6e\x08"
    if name == "smallmoney":
        return b"\x6e\x04"
    if name in _CHAR_TYPES:
        assert t.length is not None
        wide = name.startswith("n")
        size = 0xFFFF if t.length == -1 else t.length * (2 if wide else 1)
        return bytes([_CHAR_TYPES[name]]) + struct.pack("<H", size) + COLLATION
    if name in _BINARY_TYPES:
        assert t.length is not None
        size = 0xFFFF if t.length == -1 else t.length
        return bytes([_BINARY_TYPES[name]]) + struct.pack("<H", size)
    if name == "date":
        return b"\x28"
    if name in ("time", "datetime2", "datetimeoffset"):
        code = {"time": 0x29, "datetime2": 0x2A, "datetimeoffset": 0x2B}[name]
        assert t.scale is not None
        return bytes([code, t.scale])
    if name == "datetime":
        return b"\x6f\x08"
    if name == "smalldatetime":
        return b"\x6f\x04"
    if name == "uniqueidentifier":
        return b"\x24\x10"
    if name == "sql_variant":
        return b"\x62" + struct.pack("<I", VARIANT_MAX_LENGTH)
    if name == "xml":
        return b"\xf1\x00"  # no schema collection
    raise AssertionError(f"unhandled type {name}")


def colmetadata(columns: list[Column]) -> bytes:
    parts = [struct.pack("<BH", Token.COLMETADATA, len(columns))]
    for column in columns:
        flags = 0x0001 if column.nullable else 0x0000
        if column.identity:
            flags |= 0x0010
        parts.append(struct.pack("<IH", 0, flags))
        parts.append(type_info(column.type))
        parts.append(b_varchar(column.name[:128]))
    return b"".join(parts)
