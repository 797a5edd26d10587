"""Decode RPC parameters: TYPE_INFO and value to a Python value and its declared SqlType."""

from __future__ import annotations

import datetime as dt
import decimal
import struct
import uuid
from dataclasses import dataclass
from typing import Any

from mssql_emulator import code_page
from mssql_emulator.contract import Param, SqlType
from mssql_emulator.tds import table_valued
from mssql_emulator.tds.packets import ProtocolError, UnknownDataType
from mssql_emulator.tds.reader import ByteReader

_FIXED = {
    0x30: ("tinyint", 1),
    0x32: ("bit", 1),
    0x34: ("smallint", 2),
    0x38: ("int", 4),
    0x7F: ("bigint", 8),
    0x3B: ("real", 4),
    0x3E: ("float", 8),
    0x3C: ("money", 8),
    0x7A: ("smallmoney", 4),
    0x3D: ("datetime", 8),
    0x3A: ("smalldatetime", 4),
}
_INTN = {1: "tinyint", 2: "smallint", 4: "int", 8: "bigint"}
_DATE0 = dt.date(1, 1, 1)
_DATETIME0 = dt.datetime(1900, 1, 1)
_PLP_NULL = 0xFFFFFFFFFFFFFFFF
TVP = 0xF3
VARIANT = 0x62
_CTX = decimal.Context(prec=80)


def _fixed_value(name: str, raw: bytes) -> Any:
    if name == "tinyint":
        return raw[0]
    if name == "bit":
        return raw[0] != 0
    if name in ("smallint", "int", "bigint"):
        return int.from_bytes(raw, "little", signed=True)
    if name == "real":
        return struct.unpack("<f", raw)[0]
    if name == "float":
        return struct.unpack("<d", raw)[0]
    if name == "money":
        high, low = struct.unpack("<iI", raw)
        return decimal.Decimal((high << 32) | low).scaleb(-4, _CTX)
    if name == "smallmoney":
        return decimal.Decimal(struct.unpack("<i", raw)[0]).scaleb(-4, _CTX)
    if name == "datetime":
        days, ticks = struct.unpack("<iI", raw)
        micros = (ticks * 10_000 + 1) // 3  # 1/300 s, rounded to the microsecond
        return _DATETIME0 + dt.timedelta(days=days, microseconds=micros)
    if name == "smalldatetime":
        days, minutes = struct.unpack("<HH", raw)
        return _DATETIME0 + dt.timedelta(days=days, minutes=minutes)
    raise ProtocolError(f"unexpected fixed type {name}")


def _time_of(raw: bytes, scale: int) -> dt.timedelta:
    count = int.from_bytes(raw, "little")
    # Python keeps microseconds: a 7th digit is rounded (half up) like the contract says.
    micros = (count + 5) // 10 if scale == 7 else count * 10 ** (6 - scale)
    return dt.timedelta(microseconds=micros)


def _time_param(raw: bytes, scale: int, since_midnight: dt.timedelta) -> dt.time | str:
    """A time value; time(7) with a 7th digit as ``hh:mm:ss.fffffff`` text, which keeps it."""
    count = int.from_bytes(raw, "little")
    if scale < 7 or count % 10 == 0:
        return (dt.datetime.min + since_midnight).time()
    seconds, ticks = divmod(count, 10_000_000)
    minutes, second = divmod(seconds, 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}:{second:02d}.{ticks:07d}"


def _date_of(raw: bytes) -> dt.date:
    return _DATE0 + dt.timedelta(days=int.from_bytes(raw, "little"))


def _plp(reader: ByteReader) -> bytes | None:
    total = reader.u64()
    if total == _PLP_NULL:
        return None
    parts: list[bytes] = []
    while True:
        size = reader.u32()
        if size == 0:
            return b"".join(parts)
        parts.append(reader.take(size))


def _decode_text(raw: bytes, wide: bool) -> str:
    return raw.decode("utf-16-le", errors="surrogatepass") if wide else code_page.decode(raw)


@dataclass(frozen=True)
class TypeInfo:
    """A TYPE_INFO read off the wire: the type code and what follows it."""

    code: int
    max_size: int = 0
    precision: int = 0
    scale: int = 0


def read_param(reader: ByteReader) -> Param:
    return read_rpc_param(reader)[0]


def read_rpc_param(reader: ByteReader) -> tuple[Param, bool]:
    """A parameter and whether the client asked for its default value (fDefaultValue)."""
    name = reader.b_varchar()
    status = reader.u8()
    sql_type, value = read_typed_value(reader)
    return Param(name=name, type=sql_type, value=value, output=bool(status & 0x01)), bool(
        status & 0x02
    )


def read_typed_value(reader: ByteReader) -> tuple[SqlType, Any]:
    code = reader.u8()
    if code == TVP:
        return table_valued.read_table(reader, read_type_info, read_value)
    return read_value(reader, read_type_info(reader, code))


def read_type_info(reader: ByteReader, code: int | None = None) -> TypeInfo:
    """The TYPE_INFO after its type code (read here when ``code`` is None)."""
    if code is None:
        code = reader.u8()
    if code == 0x1F or code in _FIXED or code == 0x28:
        return TypeInfo(code)
    if code in (0x26, 0x68, 0x6D, 0x6E, 0x6F, 0x24):
        return TypeInfo(code, reader.u8())
    if code in (0x6A, 0x6C, 0x37, 0x3F):
        size = reader.u8()
        precision = reader.u8()
        scale = reader.u8()
        if precision > 38 or scale > precision:
            raise ProtocolError("bad decimal precision/scale")
        return TypeInfo(code, size, precision, scale)
    if code in (0x29, 0x2A, 0x2B):
        scale = reader.u8()
        if scale > 7:
            raise ProtocolError("bad time scale")
        return TypeInfo(code, scale=scale)
    if code in (0xA7, 0xAF, 0xE7, 0xEF, 0xA5, 0xAD):
        max_size = reader.u16()
        if code in (0xA7, 0xAF, 0xE7, 0xEF):
            reader.take(5)
        return TypeInfo(code, max_size)
    if code in (0x23, 0x63, 0x22):
        max_size = reader.u32()
        if code != 0x22:
            reader.take(5)
        return TypeInfo(code, max_size)
    if code == VARIANT:
        return TypeInfo(code, reader.u32())
    raise UnknownDataType(code)


def read_value(reader: ByteReader, info: TypeInfo) -> tuple[SqlType, Any]:
    """A value typed by ``info`` (TYPE_VARBYTE), with the SqlType it declares."""
    code = info.code
    if code == 0x1F:
        return SqlType("int"), None
    if code in _FIXED:
        name, size = _FIXED[code]
        return SqlType(name), _fixed_value(name, reader.take(size))
    if code == 0x26:
        size = reader.u8()
        if size == 0:
            return SqlType(_INTN.get(info.max_size, "int")), None
        if size not in _INTN:
            raise ProtocolError("bad INTN size")
        name = _INTN[size]
        return SqlType(name), _fixed_value(name, reader.take(size))
    if code in (0x68, 0x6D, 0x6E, 0x6F):
        size = reader.u8()
        names = {
            0x68: {1: "bit"},
            0x6D: {4: "real", 8: "float"},
            0x6E: {4: "smallmoney", 8: "money"},
            0x6F: {4: "smalldatetime", 8: "datetime"},
        }[code]
        declared = names.get(info.max_size) or next(iter(names.values()))
        if size == 0:
            return SqlType(declared), None
        if size not in names:
            raise ProtocolError("bad fixed-length size")
        return SqlType(names[size]), _fixed_value(names[size], reader.take(size))
    if code in (0x6A, 0x6C, 0x37, 0x3F):
        precision, scale = info.precision, info.scale
        sql_type = SqlType(
            "decimal" if code in (0x6A, 0x37) else "numeric", precision=precision, scale=scale
        )
        size = reader.u8()
        if size == 0:
            return sql_type, None
        raw = reader.take(size)
        magnitude = int.from_bytes(raw[1:], "little")
        unscaled = magnitude if raw[0] == 1 else -magnitude
        return sql_type, decimal.Decimal(unscaled).scaleb(-scale, _CTX)
    if code == 0x24:
        size = reader.u8()
        if size == 0:
            return SqlType("uniqueidentifier"), None
        if size != 16:
            raise ProtocolError("bad GUID size")
        return SqlType("uniqueidentifier"), uuid.UUID(bytes_le=reader.take(16))
    if code == 0x28:
        size = reader.u8()
        if size == 0:
            return SqlType("date"), None
        if size != 3:
            raise ProtocolError("bad DATE size")
        return SqlType("date"), _date_of(reader.take(3))
    if code in (0x29, 0x2A, 0x2B):
        return _time_value(reader, code, info.scale)
    if code in (0xA7, 0xAF, 0xE7, 0xEF, 0xA5, 0xAD):
        return _var_value(reader, code, info.max_size)
    if code in (0x23, 0x63, 0x22):
        name = {0x23: "varchar", 0x63: "nvarchar", 0x22: "varbinary"}[code]
        sql_type = SqlType(name, length=-1)
        size = reader.u32()
        if size == 0xFFFFFFFF:
            return sql_type, None
        raw = reader.take(size)
        return sql_type, raw if code == 0x22 else _decode_text(raw, code == 0x63)
    if code == VARIANT:
        return _variant_value(reader)
    raise UnknownDataType(code)


def _variant_value(reader: ByteReader) -> tuple[SqlType, Any]:
    """A sql_variant value, typed by its base type (NULL has none)."""
    size = reader.u32()
    if size == 0:
        return SqlType("sql_variant"), None
    if size < 2:
        raise ProtocolError("bad sql_variant size")
    base, count = reader.u8(), reader.u8()
    if count > size - 2:
        raise ProtocolError("bad sql_variant property count")
    props = reader.take(count)
    value = reader.take(size - 2 - count)
    # Re-frame the value as a parameter of its base type: TYPE_INFO from the properties,
    # then the value behind the length prefix that type uses.
    if base in _FIXED:
        return read_value(ByteReader(value), TypeInfo(base))
    sized = bytes([len(value)]) + value
    if base == 0x24 or base == 0x28:
        return read_value(ByteReader(sized), TypeInfo(base, len(value)))
    if base in (0x29, 0x2A, 0x2B) and count == 1 and props[0] <= 7:
        return read_value(ByteReader(sized), TypeInfo(base, scale=props[0]))
    if base in (0x6A, 0x6C) and count == 2 and props[1] <= props[0] <= 38:
        return read_value(ByteReader(sized), TypeInfo(base, len(value), props[0], props[1]))
    long_sized = struct.pack("<H", len(value)) + value
    if base in (0xA7, 0xAF, 0xE7, 0xEF) and count == 7:
        max_size = struct.unpack("<H", props[5:])[0]
        return read_value(ByteReader(long_sized), TypeInfo(base, max_size))
    if base in (0xA5, 0xAD) and count == 2:
        max_size = struct.unpack("<H", props)[0]
        return read_value(ByteReader(long_sized), TypeInfo(base, max_size))
    raise UnknownDataType(base)


def _time_value(reader: ByteReader, code: int, scale: int) -> tuple[SqlType, Any]:
    name = {0x29: "time", 0x2A: "datetime2", 0x2B: "datetimeoffset"}[code]
    sql_type = SqlType(name, scale=scale)
    size = reader.u8()
    if size == 0:
        return sql_type, None
    raw = reader.take(size)
    tsize = 3 if scale <= 2 else 4 if scale <= 4 else 5
    expected = tsize + {0x29: 0, 0x2A: 3, 0x2B: 5}[code]
    if size != expected:
        raise ProtocolError("bad time value size")
    since_midnight = _time_of(raw[:tsize], scale)
    if code == 0x29:
        return sql_type, _time_param(raw[:tsize], scale, since_midnight)
    base = dt.datetime.combine(_date_of(raw[tsize : tsize + 3]), dt.time())
    count = int.from_bytes(raw[:tsize], "little")
    offset = struct.unpack("<h", raw[tsize + 3 :])[0] if code == 0x2B else 0
    try:
        if scale == 7 and count % 10:
            # Python datetimes stop at microseconds: the 7th digit travels as text.
            return sql_type, _seventh_digit_text(base, count, offset, code == 0x2B)
        value = base + since_midnight
        if code == 0x2A:
            return sql_type, value
        zone = dt.timezone(dt.timedelta(minutes=offset))
        return sql_type, value.replace(tzinfo=dt.UTC).astimezone(zone)
    except OverflowError as exc:
        raise ProtocolError("time out of range") from exc


def _seventh_digit_text(day: dt.datetime, count: int, offset: int, with_offset: bool) -> str:
    """``yyyy-mm-dd hh:mm:ss.fffffff`` (local time, then ``+hh:mm`` for datetimeoffset)."""
    seconds, fraction = divmod(count, 10_000_000)
    local = day + dt.timedelta(seconds=seconds, minutes=offset)
    text = f"{local.isoformat(sep=' ')}.{fraction:07d}"
    if not with_offset:
        return text
    sign = "-" if offset < 0 else "+"
    return f"{text} {sign}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"


def _var_value(reader: ByteReader, code: int, max_size: int) -> tuple[SqlType, Any]:
    is_char = code in (0xA7, 0xAF, 0xE7, 0xEF)
    wide = code in (0xE7, 0xEF)
    name = {
        0xA7: "varchar",
        0xAF: "char",
        0xE7: "nvarchar",
        0xEF: "nchar",
        0xA5: "varbinary",
        0xAD: "binary",
    }[code]
    if max_size == 0xFFFF:
        raw_plp = _plp(reader)
        sql_type = SqlType(name, length=-1)
        if raw_plp is None:
            return sql_type, None
        return sql_type, _decode_text(raw_plp, wide) if is_char else raw_plp
    sql_type = SqlType(name, length=max(1, max_size // 2 if wide else max_size))
    size = reader.u16()
    if size == 0xFFFF:
        return sql_type, None
    raw = reader.take(size)
    return sql_type, _decode_text(raw, wide) if is_char else raw
