"""Decode a BulkLoadBCP message (COLMETADATA, ROW/NBCROW tokens, DONE) into Arrow columns."""

from __future__ import annotations

import datetime as dt
import decimal
import struct
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from mssql_emulator import code_page
from mssql_emulator.contract import SqlError
from mssql_emulator.tds.packets import ProtocolError
from mssql_emulator.tds.reader import ByteReader
from mssql_emulator.tds.row_encoder import TICKS_100NS_PER_DAY

_DATE0 = dt.date(1, 1, 1)
_DATETIME0 = dt.datetime(1900, 1, 1)
_CTX = decimal.Context(prec=80)
_PLP_NULL = 0xFFFFFFFFFFFFFFFF
_TOKEN_COLMETADATA = 0x81
_TOKEN_ROW = 0xD1
_TOKEN_NBCROW = 0xD2
_TOKEN_DONE = 0xFD

# Fixed-length types: (size, arrow type).
_FIXED: dict[int, tuple[int, pa.DataType]] = {
    0x30: (1, pa.int64()),
    0x32: (1, pa.bool_()),
    0x34: (2, pa.int64()),
    0x38: (4, pa.int64()),
    0x7F: (8, pa.int64()),
    0x3B: (4, pa.float32()),
    0x3E: (8, pa.float64()),
    0x3C: (8, pa.decimal128(19, 4)),
    0x7A: (4, pa.decimal128(10, 4)),
    0x3D: (8, pa.timestamp("us")),
    0x3A: (4, pa.timestamp("us")),
}
_BYTE_LEN = {0x26, 0x68, 0x6D, 0x6E, 0x6F, 0x24}  # one max-size byte, one length byte per cell
_CHARS = {0xA7, 0xAF, 0xE7, 0xEF}
_BINARIES = {0xA5, 0xAD}
_LEGACY_LOB = {0x23, 0x63, 0x22}  # text, ntext, image
# 100 ns ticks in one unit of each scale, 0..7
_UNIT_TICKS = (10_000_000, 1_000_000, 100_000, 10_000, 1_000, 100, 10, 1)
# datetimeoffset as the engine stores it: UTC in 100 ns ticks since 0001-01-01, offset minutes
_DTO_TYPE = pa.struct([("utc", pa.int64()), ("offset", pa.int16())])


@dataclass(frozen=True)
class WireColumn:
    """One column of the client's COLMETADATA: TDS type code and its TYPE_INFO."""

    name: str
    code: int
    size: int = 0
    precision: int = 0
    scale: int = 0

    @property
    def wide(self) -> bool:
        return self.code in (0xE7, 0xEF, 0x63)

    @property
    def plp(self) -> bool:
        return self.code in (0xF1, 0xF0) or (
            (self.code in _CHARS or self.code in _BINARIES) and self.size == 0xFFFF
        )

    @property
    def duckdb_type(self) -> str:
        return duckdb_type_name(self.arrow_type())

    def arrow_type(self) -> pa.DataType:
        code = self.code
        if code in _FIXED:
            return _FIXED[code][1]
        if code == 0x26:
            return pa.int64()
        if code == 0x68:
            return pa.bool_()
        if code == 0x6D:
            return pa.float32() if self.size == 4 else pa.float64()
        if code == 0x6E:
            return pa.decimal128(19, 4)
        if code == 0x6F:
            return pa.timestamp("us")
        if code in (0x6A, 0x6C, 0x37, 0x3F):
            return pa.decimal128(max(self.precision, 1), self.scale)
        if code == 0x28:
            return pa.date32()
        if code == 0x29:
            return pa.time64("ns" if self.scale == 7 else "us")
        if code == 0x2A:
            # datetime2(7) as 100 ns ticks since 0001-01-01, as the engine stores it.
            return pa.uint64() if self.scale == 7 else pa.timestamp("us")
        if code == 0x2B:
            return _DTO_TYPE
        if code in _BINARIES or code in (0x22, 0xF0, 0x62):
            return pa.large_binary()
        return pa.large_string()  # chars, text, ntext, xml, uniqueidentifier


def duckdb_type_name(arrow_type: pa.DataType) -> str:
    """The DuckDB type an Arrow column of ``arrow_type`` is scanned as."""
    if pa.types.is_decimal(arrow_type):
        return f"DECIMAL({arrow_type.precision},{arrow_type.scale})"
    if pa.types.is_struct(arrow_type):
        return 'STRUCT(utc BIGINT, "offset" SMALLINT)'
    names = {
        pa.int64(): "BIGINT",
        pa.bool_(): "BOOLEAN",
        pa.float32(): "FLOAT",
        pa.float64(): "DOUBLE",
        pa.timestamp("us"): "TIMESTAMP",
        pa.uint64(): "UBIGINT",
        pa.date32(): "DATE",
        pa.time64("us"): "TIME",
        pa.time64("ns"): "TIME_NS",
        pa.large_binary(): "BLOB",
    }
    return names.get(arrow_type, "VARCHAR")


def _read_column(reader: ByteReader) -> WireColumn:
    reader.u32()  # user type
    reader.u16()  # flags
    code = reader.u8()
    size = precision = scale = 0
    if code in _FIXED or code == 0x1F or code == 0x28:
        pass
    elif code in _BYTE_LEN:
        size = reader.u8()
    elif code in (0x6A, 0x6C, 0x37, 0x3F):
        size, precision, scale = reader.u8(), reader.u8(), reader.u8()
        if precision > 38 or scale > precision:
            raise ProtocolError("bad decimal precision/scale")
    elif code in (0x29, 0x2A, 0x2B):
        scale = reader.u8()
        if scale > 7:
            raise ProtocolError("bad time scale")
    elif code in _CHARS or code in _BINARIES:
        size = reader.u16()
        if code in _CHARS:
            reader.take(5)
    elif code in _LEGACY_LOB:
        size = reader.u32()
        if code != 0x22:
            reader.take(5)
        reader.take(2 * reader.u16())  # table name parts, sent as one US_VARCHAR
    elif code == 0xF1:
        if reader.u8():
            reader.b_varchar()
            reader.b_varchar()
            reader.us_varchar()
    elif code == 0x62:
        size = reader.u32()
    else:
        raise SqlError(4816, "Invalid column type from bcp client for colid 1.")
    return WireColumn(reader.b_varchar(), code, size, precision, scale)


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


def _fixed_value(code: int, raw: bytes) -> Any:
    size = len(raw)
    if code in (0x30, 0x34, 0x38, 0x7F, 0x26):
        return int.from_bytes(raw, "little", signed=size > 1)
    if code in (0x32, 0x68):
        return raw[0] != 0
    if code in (0x3B, 0x3E, 0x6D):
        return struct.unpack("<f" if size == 4 else "<d", raw)[0]
    if code in (0x3C, 0x7A, 0x6E):
        if size == 4:
            return decimal.Decimal(struct.unpack("<i", raw)[0]).scaleb(-4, _CTX)
        high, low = struct.unpack("<iI", raw)
        return decimal.Decimal((high << 32) | low).scaleb(-4, _CTX)
    if size == 4:  # smalldatetime
        days, minutes = struct.unpack("<HH", raw)
        return _DATETIME0 + dt.timedelta(days=days, minutes=minutes)
    days, ticks = struct.unpack("<iI", raw)
    return _DATETIME0 + dt.timedelta(days=days, microseconds=(ticks * 10_000 + 1) // 3)


def _since_midnight(raw: bytes, scale: int) -> dt.timedelta:
    count = int.from_bytes(raw, "little")
    micros = (count + 5) // 10 if scale == 7 else count * 10 ** (6 - scale)
    return dt.timedelta(microseconds=micros)


def _scaled_time(col: WireColumn, raw: bytes) -> Any:
    tsize = 3 if col.scale <= 2 else 4 if col.scale <= 4 else 5
    if col.code == 0x29 and col.scale == 7:
        return int.from_bytes(raw[:tsize], "little") * 100  # exact nanoseconds, see arrow_type
    if col.code == 0x2B:
        return {"utc": _ticks(raw, tsize, col.scale), "offset": _offset(raw, tsize)}
    if col.code == 0x2A and col.scale == 7:
        return _ticks(raw, tsize, col.scale)
    since = _since_midnight(raw[:tsize], col.scale)
    if col.code == 0x29:
        return (dt.datetime.min + since).time()
    day = _DATE0 + dt.timedelta(days=int.from_bytes(raw[tsize : tsize + 3], "little"))
    return dt.datetime.combine(day, dt.time()) + since


def _ticks(raw: bytes, tsize: int, scale: int) -> int:
    """A DATETIME2N or DATETIMEOFFSETN value's 100 ns ticks since 0001-01-01."""
    days = int.from_bytes(raw[tsize : tsize + 3], "little")
    count = int.from_bytes(raw[:tsize], "little")
    return days * TICKS_100NS_PER_DAY + count * _UNIT_TICKS[scale]


def _offset(raw: bytes, tsize: int) -> int:
    return int(struct.unpack("<h", raw[tsize + 3 : tsize + 5])[0])


def _text(raw: bytes, wide: bool) -> str:
    if wide:
        return raw.decode("utf-16-le", errors="surrogatepass")
    return code_page.decode(raw)


def _cell_reader(col: WireColumn) -> Callable[[ByteReader], Any]:
    """A function reading one cell of ``col`` (None for NULL) from the row stream."""
    code = col.code
    if code in _FIXED:
        size = _FIXED[code][0]
        return lambda r: _fixed_value(code, r.take(size))
    if code == 0x1F:
        return lambda r: None
    if code in (0x26, 0x68, 0x6D, 0x6E, 0x6F):

        def byte_len(r: ByteReader) -> Any:
            size = r.u8()
            return _fixed_value(code, r.take(size)) if size else None

        return byte_len
    if code == 0x24:

        def guid(r: ByteReader) -> Any:
            size = r.u8()
            return str(uuid.UUID(bytes_le=r.take(16))).upper() if size == 16 else None

        return guid
    if code in (0x6A, 0x6C, 0x37, 0x3F):

        def dec(r: ByteReader) -> Any:
            size = r.u8()
            if not size:
                return None
            raw = r.take(size)
            magnitude = int.from_bytes(raw[1:], "little")
            unscaled = magnitude if raw[0] == 1 else -magnitude
            return decimal.Decimal(unscaled).scaleb(-col.scale, _CTX)

        return dec
    if code == 0x28:

        def date(r: ByteReader) -> Any:
            size = r.u8()
            return _DATE0 + dt.timedelta(days=int.from_bytes(r.take(3), "little")) if size else None

        return date
    if code in (0x29, 0x2A, 0x2B):

        def scaled(r: ByteReader) -> Any:
            size = r.u8()
            return _scaled_time(col, r.take(size)) if size else None

        return scaled
    return _variable_reader(col)


def _variable_reader(col: WireColumn) -> Callable[[ByteReader], Any]:
    binary = col.code in _BINARIES or col.code in (0x22, 0xF0, 0x62)

    def finish(raw: bytes | None) -> Any:
        if raw is None or binary:
            return raw
        return _text(raw, col.wide or col.code == 0xF1)

    if col.plp:
        return lambda r: finish(_plp(r))
    if col.code in _LEGACY_LOB:

        def lob(r: ByteReader) -> Any:
            pointer = r.u8()
            if not pointer:
                return None
            r.take(pointer + 8)  # text pointer and timestamp
            return finish(r.take(r.u32()))

        return lob
    if col.code == 0x62:

        def variant(r: ByteReader) -> Any:
            size = r.u32()
            return finish(r.take(size)) if size else None

        return variant

    def short(r: ByteReader) -> Any:
        size = r.u16()
        return None if size == 0xFFFF else finish(r.take(size))

    return short


@dataclass
class BulkRows:
    columns: list[WireColumn]
    table: pa.Table


def decode_bulk(payload: bytes) -> BulkRows:
    """Parse the whole BulkLoadBCP message into one Arrow table (column names as sent)."""
    reader = ByteReader(payload)
    if reader.u8() != _TOKEN_COLMETADATA:
        raise ProtocolError("bulk load without COLMETADATA")
    count = reader.u16()
    columns = [] if count == 0xFFFF else [_read_column(reader) for _ in range(count)]
    cell_readers = [_cell_reader(c) for c in columns]
    values: list[list[Any]] = [[] for _ in columns]
    while reader.remaining():
        token = reader.u8()
        if token == _TOKEN_DONE:
            break
        if token == _TOKEN_ROW:
            for read, sink in zip(cell_readers, values, strict=True):
                sink.append(read(reader))
        elif token == _TOKEN_NBCROW:
            bitmap = reader.take((len(columns) + 7) // 8)
            for i, (read, sink) in enumerate(zip(cell_readers, values, strict=True)):
                sink.append(None if bitmap[i // 8] >> (i % 8) & 1 else read(reader))
        else:
            raise ProtocolError(f"unexpected token 0x{token:02x} in bulk load")
    arrays: list[pa.Array] = []
    for colid, (column, cells) in enumerate(zip(columns, values, strict=True), start=1):
        try:
            arrays.append(pa.array(cells, type=column.arrow_type()))
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
            raise SqlError(
                4815, f"Received an invalid column length from the bcp client for colid {colid}."
            ) from exc
    return BulkRows(columns, pa.table(arrays, names=[f"c{i}" for i in range(len(columns))]))
